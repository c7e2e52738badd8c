/* switch.S (x86-64, System V) - braid__ctx_swap and the start trampoline.
 *
 * braid__ctx_swap(from, to): pushes the callee-saved registers (rbp, rbx,
 * r12-r15) and an 8-byte slot holding MXCSR and the x87 control word, stores
 * rsp in from->sp, loads to->sp and pops the same frame. Caller-saved state
 * is the caller's business by the ABI. The stack stays 16-byte aligned at
 * every call site because every saved frame was made by a call.
 *
 * A fresh context (see ctx_x86_64.c) holds the same frame with r12 = entry,
 * r13 = arg and the return address pointing at braid__ctx_start, which calls
 * entry(arg) with rsp 16-byte aligned before the call, as the ABI requires.
 */
    .text
    .globl  braid__ctx_swap
    .hidden braid__ctx_swap
    .type   braid__ctx_swap, @function
    .p2align 4
braid__ctx_swap:
    .cfi_startproc
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    /* Our control words, read back each at the size it was stored: one
     * 8-byte load over the 4- and 2-byte stores just made cannot be
     * forwarded from them and stalls until they retire (that stall was a
     * third of this function's time in perf/pingpong). rcx, rdx are
     * caller-saved. */
    movl    (%rsp), %ecx
    movzwl  4(%rsp), %edx
    movq    %rsp, (%rdi)
    movq    (%rsi), %rsp
    /* Reloading MXCSR and the x87 CW is slow (microcoded) and they almost
     * never differ between contexts: reload only when they do. */
    cmpl    (%rsp), %ecx
    jne     1f
    cmpw    4(%rsp), %dx
    jne     1f
2:  addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
1:  ldmxcsr (%rsp)
    fldcw   4(%rsp)
    jmp     2b
    .cfi_endproc
    .size   braid__ctx_swap, .-braid__ctx_swap

    .globl  braid__ctx_start
    .hidden braid__ctx_start
    .type   braid__ctx_start, @function
    .p2align 4
braid__ctx_start:
    .cfi_startproc
    .cfi_undefined rip          /* outermost frame: unwinders stop here */
    movq    %r13, %rdi
    callq   *%r12
    ud2                         /* entry never returns */
    .cfi_endproc
    .size   braid__ctx_start, .-braid__ctx_start

    .section .note.GNU-stack,"",@progbits
