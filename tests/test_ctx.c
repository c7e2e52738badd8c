/* test_ctx.c - the machine context switch (sched/ctx.h): ping-pong order,
 * direct coroutine-to-coroutine switches with private stacks, callee-saved
 * registers across the switch (both compiled C and an exact assembly check),
 * 16-byte stack alignment at the entry, and the per-context floating-point
 * control words (MXCSR and the x87 control word).
 *
 * All switches go through braid__switch (or a twin of it for the assembly
 * check), so the file also runs correctly in ASan builds.
 */
#include <criterion/criterion.h>

#include <fenv.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

#define STACK_SIZE ((size_t)64 * 1024)

typedef struct coro {
    braid__ctx ctx;
    braid__fiber fiber;
    void *stack;
} coro;

static braid__ctx main_ctx;
static braid__fiber main_fiber;

static void main_fiber_init(void)
{
    pthread_attr_t a;
    void *lo = NULL;
    size_t size = 0;
    cr_assert_eq(pthread_getattr_np(pthread_self(), &a), 0);
    cr_assert_eq(pthread_attr_getstack(&a, &lo, &size), 0);
    pthread_attr_destroy(&a);
    main_fiber.lo = lo;
    main_fiber.size = size;
#if defined(BRAID_TSAN)
    main_fiber.tsan = __tsan_get_current_fiber();
#else
    main_fiber.tsan = NULL;
#endif
}

/* A coroutine on [stack + off, stack + STACK_SIZE - off2): the offsets let
 * the alignment test hand braid__ctx_make unaligned bounds. */
static void coro_make_at(coro *c, size_t off, size_t off2, void (*entry)(void *), void *arg)
{
    c->stack = aligned_alloc(64, STACK_SIZE);
    cr_assert_not_null(c->stack);
    memset(c->stack, 0xA5, STACK_SIZE); /* no help from zeroed memory */
    char *lo = (char *)c->stack + off;
    size_t size = STACK_SIZE - off - off2;
    braid__ctx_make(&c->ctx, lo, size, entry, arg);
    c->fiber.lo = lo;
    c->fiber.size = size;
#if defined(BRAID_TSAN)
    c->fiber.tsan = __tsan_create_fiber(0);
#else
    c->fiber.tsan = NULL;
#endif
}

static void coro_make(coro *c, void (*entry)(void *), void *arg)
{
    coro_make_at(c, 0, 0, entry, arg);
}

/* Only once the coroutine is suspended for good (it never returns). */
static void coro_free(coro *c)
{
#if defined(BRAID_TSAN)
    __tsan_destroy_fiber(c->fiber.tsan);
#endif
    free(c->stack);
}

static inline __attribute__((always_inline)) void resume(coro *c)
{
    braid__switch(&main_ctx, &c->ctx, &c->fiber, false);
}

static inline __attribute__((always_inline)) void coro_yield(coro *c)
{
    braid__switch(&c->ctx, &main_ctx, &main_fiber, false);
}

/* ------------------------------------------------------------------------ */
/* Ping-pong                                                                */
/* ------------------------------------------------------------------------ */

#define PINGS 100000

static coro pp;
static void *pp_arg;
static long pp_value;    /* main -> coroutine */
static long pp_reply;    /* coroutine -> main */
static long pp_count;    /* how many times the coroutine ran */
static long pp_out_of_order;

static void pp_entry(void *arg)
{
    braid__switch_arrived();
    pp_arg = arg;
    long expect = 0; /* lives on the coroutine's stack across switches */
    for (;;) {
        if (pp_value != expect)
            pp_out_of_order++;
        pp_reply = 2 * pp_value + 1;
        pp_count++;
        expect++;
        coro_yield(&pp);
    }
}

Test(ctx, ping_pong, .timeout = 30.)
{
    static int token;
    main_fiber_init();
    coro_make(&pp, pp_entry, &token);
    for (long i = 0; i < PINGS; i++) {
        pp_value = i;
        resume(&pp);
        cr_assert_eq(pp_count, i + 1, "round %ld: coroutine ran %ld times", i, pp_count);
        cr_assert_eq(pp_reply, 2 * i + 1, "round %ld: reply %ld", i, pp_reply);
    }
    cr_assert_eq(pp_arg, (void *)&token, "entry got the wrong argument");
    cr_assert_eq(pp_out_of_order, 0, "coroutine saw %ld values out of order", pp_out_of_order);
    coro_free(&pp);
}

/* ------------------------------------------------------------------------ */
/* A ring of coroutines switching to each other directly                     */
/* ------------------------------------------------------------------------ */

#define RING 4
#define LAPS 2000

static coro ring[RING];
static int ring_trace[RING * LAPS + 1];
static int ring_pos;
static int ring_stack_damage;

static void ring_entry(void *arg)
{
    braid__switch_arrived();
    int me = (int)(intptr_t)arg;
    /* A private buffer on this coroutine's stack: must survive the others. */
    unsigned char mine[2048];
    memset(mine, 0x10 + me, sizeof(mine));
    for (int lap = 0;; lap++) {
        for (size_t k = 0; k < sizeof(mine); k += 61)
            if (mine[k] != 0x10 + me)
                ring_stack_damage++;
        if (ring_pos < (int)(sizeof(ring_trace) / sizeof(ring_trace[0])))
            ring_trace[ring_pos] = me;
        ring_pos++;
        if (me == RING - 1) /* the last one hands back to main */
            braid__switch(&ring[me].ctx, &main_ctx, &main_fiber, false);
        else
            braid__switch(&ring[me].ctx, &ring[me + 1].ctx, &ring[me + 1].fiber, false);
    }
}

Test(ctx, ring_of_coroutines, .timeout = 30.)
{
    main_fiber_init();
    for (int i = 0; i < RING; i++)
        coro_make(&ring[i], ring_entry, (void *)(intptr_t)i);
    for (int lap = 0; lap < LAPS; lap++) {
        resume(&ring[0]);
        cr_assert_eq(ring_pos, (lap + 1) * RING);
    }
    for (int p = 0; p < RING * LAPS; p++)
        cr_assert_eq(ring_trace[p], p % RING, "step %d ran coroutine %d", p, ring_trace[p]);
    cr_assert_eq(ring_stack_damage, 0, "a coroutine's stack was overwritten");
    for (int i = 0; i < RING; i++)
        coro_free(&ring[i]);
}

/* ------------------------------------------------------------------------ */
/* Callee-saved registers, as compiled code sees them                       */
/* ------------------------------------------------------------------------ */

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* Put garbage in every callee-saved register the compiler lets us name (all
 * but rbp/x29, which the assembly check below covers), so that a switch that
 * forgot one hands the other side garbage instead of a lucky leftover. */
static inline __attribute__((always_inline)) void trash_callee_saved(void)
{
#if defined(__x86_64__)
    __asm__ __volatile__("movabsq $0x5A5A5A5A5A5A5A01, %%rbx\n\t"
                         "movabsq $0x5A5A5A5A5A5A5A02, %%r12\n\t"
                         "movabsq $0x5A5A5A5A5A5A5A03, %%r13\n\t"
                         "movabsq $0x5A5A5A5A5A5A5A04, %%r14\n\t"
                         "movabsq $0x5A5A5A5A5A5A5A05, %%r15"
                         :
                         :
                         : "rbx", "r12", "r13", "r14", "r15");
#elif defined(__aarch64__)
    __asm__ __volatile__("mov x19, #0x5a01\n\tmov x20, #0x5a02\n\tmov x21, #0x5a03\n\t"
                         "mov x22, #0x5a04\n\tmov x23, #0x5a05\n\tmov x24, #0x5a06\n\t"
                         "mov x25, #0x5a07\n\tmov x26, #0x5a08\n\tmov x27, #0x5a09\n\t"
                         "mov x28, #0x5a0a\n\tfmov d8, x19\n\tfmov d9, x20\n\t"
                         "fmov d10, x21\n\tfmov d11, x22\n\tfmov d12, x23\n\t"
                         "fmov d13, x24\n\tfmov d14, x25\n\tfmov d15, x26"
                         :
                         :
                         : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
                           "x28", "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15");
#endif
}

static coro churner;
static long churn_done;      /* coroutine side: churns completed */
static long churn_mismatch;  /* coroutine side: churns whose result differed */

static __attribute__((noinline)) void hop_to_churner(void)
{
    trash_callee_saved();
    resume(&churner);
}

static __attribute__((noinline)) void hop_to_main(void)
{
    trash_callee_saved();
    coro_yield(&churner);
}

/* Twelve 64-bit values live across each hop: more than the callee-saved
 * registers, so some sit in registers and the rest in the frame, and both
 * must come back intact. */
static __attribute__((noinline)) uint64_t churn(uint64_t seed, void (*hop)(void))
{
    uint64_t a = seed, b = seed * 3 + 1, c = seed ^ 0x9E3779B97F4A7C15ULL, d = rotl(seed, 7);
    uint64_t e = ~seed, f = seed * seed, g = seed + 12345, h = seed >> 3;
    uint64_t i = seed * 0xFF51AFD7ED558CCDULL, j = seed ^ (seed >> 29), k = seed + 0xDEADBEEF;
    uint64_t l = seed * 7;
    for (int r = 0; r < 16; r++) {
        a += b ^ l;
        b = rotl(b + c, 13);
        c ^= d * 31;
        d += e;
        e = rotl(e ^ f, 7);
        f += g * 5;
        g ^= h + (uint64_t)r;
        h += i;
        i = rotl(i + j, 29);
        j ^= k * 3;
        k += l ^ a;
        l = rotl(l + b, 17);
        if (hop != NULL)
            hop();
        a ^= rotl(l, 3);
        b += k;
        c = rotl(c ^ j, 11);
        d ^= i;
        e += h * 9;
        f = rotl(f ^ g, 5);
        g += f;
        h ^= e;
        i += d;
        j = rotl(j + c, 23);
        k ^= b;
        l += a;
    }
    return a ^ rotl(b, 1) ^ rotl(c, 2) ^ rotl(d, 3) ^ rotl(e, 4) ^ rotl(f, 5) ^ rotl(g, 6) ^
           rotl(h, 7) ^ rotl(i, 8) ^ rotl(j, 9) ^ rotl(k, 10) ^ rotl(l, 11);
}

static void churn_entry(void *arg)
{
    braid__switch_arrived();
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    for (;;) {
        uint64_t with = churn(seed, hop_to_main);
        uint64_t without = churn(seed, NULL);
        if (with != without)
            churn_mismatch++;
        churn_done++;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    }
}

Test(ctx, callee_saved_registers_compiled, .timeout = 30.)
{
    main_fiber_init();
    coro_make(&churner, churn_entry, (void *)(uintptr_t)0xC0FFEE);
    uint64_t seed = 42;
    for (int n = 0; n < 200; n++) {
        uint64_t with = churn(seed, hop_to_churner);
        uint64_t without = churn(seed, NULL);
        cr_assert_eq(with, without, "main's values changed across switches (seed %llu)",
                     (unsigned long long)seed);
        seed = seed * 2862933555777941757ULL + 3037000493ULL;
    }
    /* 200 churns of 16 hops each: the coroutine finished 199 of its own. */
    cr_assert_eq(churn_done, 199, "coroutine finished only %ld churns", churn_done);
    cr_assert_eq(churn_mismatch, 0, "the coroutine's values changed across switches (%ld times)",
                 churn_mismatch);
    coro_free(&churner);
}

/* ------------------------------------------------------------------------ */
/* x86-64 only: exact register, alignment and FP-control checks              */
/* ------------------------------------------------------------------------ */

#if defined(__x86_64__)

/* unsigned braid_test_swap_regs(braid__ctx *from, braid__ctx *to, uint64_t p):
 * loads rbx, rbp, r12..r15 with p ^ 1 .. p ^ 6, calls braid__ctx_swap(from,
 * to), and when resumed returns a bit mask of the registers that did not
 * come back (bit 0 rbx, 1 rbp, 2 r12, ... 5 r15). The caller's own values are
 * saved and restored around it, so it is an ordinary function to C.
 *
 * uintptr_t braid_test_caller_sp(void): the stack pointer at its call site
 * (before the call pushed the return address).
 */
__asm__(".text\n"
        ".globl braid_test_swap_regs\n"
        ".hidden braid_test_swap_regs\n"
        ".type braid_test_swap_regs, @function\n"
        ".p2align 4\n"
        "braid_test_swap_regs:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  subq $8, %rsp\n" /* keeps the call below 16-byte aligned */
        "  movq %rdx, (%rsp)\n"
        "  movq %rdx, %rbx\n  xorq $1, %rbx\n"
        "  movq %rdx, %rbp\n  xorq $2, %rbp\n"
        "  movq %rdx, %r12\n  xorq $3, %r12\n"
        "  movq %rdx, %r13\n  xorq $4, %r13\n"
        "  movq %rdx, %r14\n  xorq $5, %r14\n"
        "  movq %rdx, %r15\n  xorq $6, %r15\n"
        "  call braid__ctx_swap@PLT\n"
        "  movq (%rsp), %rdx\n"
        "  xorl %eax, %eax\n"
        "  movq %rdx, %rcx\n  xorq $1, %rcx\n  cmpq %rcx, %rbx\n  je 1f\n  orl $1, %eax\n1:\n"
        "  movq %rdx, %rcx\n  xorq $2, %rcx\n  cmpq %rcx, %rbp\n  je 1f\n  orl $2, %eax\n1:\n"
        "  movq %rdx, %rcx\n  xorq $3, %rcx\n  cmpq %rcx, %r12\n  je 1f\n  orl $4, %eax\n1:\n"
        "  movq %rdx, %rcx\n  xorq $4, %rcx\n  cmpq %rcx, %r13\n  je 1f\n  orl $8, %eax\n1:\n"
        "  movq %rdx, %rcx\n  xorq $5, %rcx\n  cmpq %rcx, %r14\n  je 1f\n  orl $16, %eax\n1:\n"
        "  movq %rdx, %rcx\n  xorq $6, %rcx\n  cmpq %rcx, %r15\n  je 1f\n  orl $32, %eax\n1:\n"
        "  addq $8, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size braid_test_swap_regs, .-braid_test_swap_regs\n"
        "\n"
        ".globl braid_test_caller_sp\n"
        ".hidden braid_test_caller_sp\n"
        ".type braid_test_caller_sp, @function\n"
        ".p2align 4\n"
        "braid_test_caller_sp:\n"
        "  leaq 8(%rsp), %rax\n"
        "  ret\n"
        ".size braid_test_caller_sp, .-braid_test_caller_sp\n");

__attribute__((visibility("hidden"))) unsigned braid_test_swap_regs(braid__ctx *from, braid__ctx *to,
                                                                     uint64_t pattern);
__attribute__((visibility("hidden"))) uintptr_t braid_test_caller_sp(void);

/* braid__switch with the assembly check in place of braid__ctx_swap. */
static inline __attribute__((always_inline)) unsigned switch_checking(braid__ctx *from, braid__ctx *to,
                                                                      const braid__fiber *to_fiber,
                                                                      uint64_t pattern)
{
#if defined(BRAID_ASAN)
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, to_fiber->lo, to_fiber->size);
#endif
#if defined(BRAID_TSAN)
    __tsan_switch_to_fiber(to_fiber->tsan, 0);
#endif
    (void)to_fiber;
    unsigned lost = braid_test_swap_regs(from, to, pattern);
#if defined(BRAID_ASAN)
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    return lost;
}

static coro regs;
static unsigned regs_lost_in_coro;
static long regs_rounds_in_coro;

static void regs_entry(void *arg)
{
    braid__switch_arrived();
    (void)arg;
    for (uint64_t p = 0xC0C0C0C0C0C0C000ULL;; p += 0x100) {
        regs_lost_in_coro |= switch_checking(&regs.ctx, &main_ctx, &main_fiber, p);
        regs_rounds_in_coro++;
    }
}

Test(ctx, callee_saved_registers_exact, .timeout = 30.)
{
    main_fiber_init();
    coro_make(&regs, regs_entry, NULL);
    for (uint64_t n = 0; n < 1000; n++) {
        unsigned lost = switch_checking(&main_ctx, &regs.ctx, &regs.fiber, 0x1234567800000000ULL + (n << 8));
        cr_assert_eq(lost, 0, "round %llu: main lost registers, mask 0x%x (bit 0 rbx, 1 rbp, 2-5 r12-r15)",
                     (unsigned long long)n, lost);
    }
    cr_assert_eq(regs_rounds_in_coro, 999);
    cr_assert_eq(regs_lost_in_coro, 0, "coroutine lost registers, mask 0x%x (bit 0 rbx, 1 rbp, 2-5 r12-r15)",
                 regs_lost_in_coro);
    coro_free(&regs);
}

/* Stack alignment: the ABI wants rsp % 16 == 0 at every call instruction.
 * The compiler keeps that inside a function only if the function was entered
 * aligned, so a misaligned entry shows at every call site below it. */
static coro al;
static uintptr_t al_sp_entry;   /* call site in the entry function itself */
static uintptr_t al_sp_nested;  /* call site one noinline frame deeper */
static char al_text[32];        /* varargs with doubles: movaps territory */

static __attribute__((noinline)) void al_nested(void)
{
    al_sp_nested = braid_test_caller_sp();
    snprintf(al_text, sizeof(al_text), "%.2f|%.1f", 3.25, -0.5);
}

static void al_entry(void *arg)
{
    braid__switch_arrived();
    (void)arg;
    al_sp_entry = braid_test_caller_sp();
    al_nested();
    for (;;)
        coro_yield(&al);
}

Test(ctx, entry_stack_is_16_byte_aligned, .timeout = 30.)
{
    main_fiber_init();
    /* Every low and high offset, so braid__ctx_make sees each alignment of
     * both stack bounds. */
    for (size_t off = 0; off < 16; off++) {
        al_sp_entry = al_sp_nested = 1;
        al_text[0] = 0;
        coro_make_at(&al, off, 15 - off, al_entry, NULL);
        resume(&al);
        uintptr_t lo = (uintptr_t)al.fiber.lo, hi = lo + al.fiber.size;
        cr_assert_eq(al_sp_entry % 16, 0, "offset %zu: rsp %% 16 == %zu in the entry", off,
                     (size_t)(al_sp_entry % 16));
        cr_assert_eq(al_sp_nested % 16, 0, "offset %zu: rsp %% 16 == %zu one call deeper", off,
                     (size_t)(al_sp_nested % 16));
        cr_assert(al_sp_entry > lo && al_sp_entry < hi, "offset %zu: the entry did not run on its stack",
                  off);
        cr_assert_str_eq(al_text, "3.25|-0.5");
        coro_free(&al);
    }
}

/* Floating-point control: MXCSR and the x87 control word belong to each
 * context. */
#define MXCSR_DEFAULT 0x1F80u /* all exceptions masked, round to nearest */
#define MXCSR_FLAGS 0x003Fu   /* sticky exception flags: not control */
#define MXCSR_DAZ 0x0040u
#define MXCSR_FTZ 0x8000u
#define FCW_DEFAULT 0x037Fu   /* all masked, extended precision, nearest */
#define FCW_PC_DOUBLE 0x0200u /* precision control = double */
#define FCW_PC_MASK 0x0300u

static unsigned get_mxcsr(void)
{
    unsigned v;
    __asm__ __volatile__("stmxcsr %0" : "=m"(v));
    return v;
}

static void set_mxcsr(unsigned v)
{
    __asm__ __volatile__("ldmxcsr %0" : : "m"(v));
}

static unsigned get_fcw(void)
{
    unsigned short v;
    __asm__ __volatile__("fnstcw %0" : "=m"(v));
    return v;
}

static void set_fcw(unsigned v)
{
    unsigned short s = (unsigned short)v;
    __asm__ __volatile__("fldcw %0" : : "m"(s));
}

static coro fp;
static int fp_round_at_entry = -1;
static unsigned fp_mxcsr_at_entry, fp_fcw_at_entry;
static int fp_round_on_return = -1;
static unsigned fp_mxcsr_on_return, fp_fcw_on_return;
static unsigned fp_mxcsr_mine, fp_fcw_mine;

static void fp_entry(void *arg)
{
    braid__switch_arrived();
    (void)arg;
    fp_mxcsr_at_entry = get_mxcsr();
    fp_fcw_at_entry = get_fcw();
    fp_round_at_entry = fegetround();
    fesetround(FE_DOWNWARD);
    set_fcw((get_fcw() & ~FCW_PC_MASK) | FCW_PC_DOUBLE);
    fp_mxcsr_mine = get_mxcsr() & ~MXCSR_FLAGS;
    fp_fcw_mine = get_fcw();
    coro_yield(&fp);
    /* Main ran with its own settings in between: ours must be back. */
    fp_round_on_return = fegetround();
    fp_mxcsr_on_return = get_mxcsr() & ~MXCSR_FLAGS;
    fp_fcw_on_return = get_fcw();
    for (;;)
        coro_yield(&fp);
}

Test(ctx, fp_control_is_per_context, .timeout = 30.)
{
    main_fiber_init();
    cr_assert_eq(fegetround(), FE_TONEAREST);
#if defined(BRAID_CTX_UCONTEXT)
    /* getcontext copies the caller's FP environment into the new context:
     * make it while main still has the defaults. */
    coro_make(&fp, fp_entry, NULL);
#endif
    cr_assert_eq(fesetround(FE_UPWARD), 0);
    set_mxcsr(get_mxcsr() | MXCSR_DAZ | MXCSR_FTZ);
    unsigned main_mxcsr = get_mxcsr() & ~MXCSR_FLAGS;
    unsigned main_fcw = get_fcw();
    cr_assert_eq(main_mxcsr & 0x6000u, 0x4000u, "MXCSR rounding is not upward");
    cr_assert_eq(main_fcw & 0x0C00u, 0x0800u, "x87 rounding is not upward");
#if !defined(BRAID_CTX_UCONTEXT)
    /* A fresh context starts from the defaults, whatever its maker runs with. */
    coro_make(&fp, fp_entry, NULL);
#endif

    resume(&fp);
    cr_expect_eq(fp_round_at_entry, FE_TONEAREST, "fresh context rounding %d", fp_round_at_entry);
    cr_expect_eq(fp_mxcsr_at_entry & ~MXCSR_FLAGS, MXCSR_DEFAULT, "fresh context MXCSR 0x%x",
                 fp_mxcsr_at_entry);
    cr_expect_eq(fp_fcw_at_entry, FCW_DEFAULT, "fresh context x87 CW 0x%x", fp_fcw_at_entry);
    cr_expect_eq(fp_mxcsr_mine & 0x6000u, 0x2000u, "coroutine's MXCSR rounding is not downward");

    /* Back in main: its settings, not the coroutine's. */
    cr_expect_eq(fegetround(), FE_UPWARD, "main rounding %d after the switch back", fegetround());
    cr_expect_eq(get_mxcsr() & ~MXCSR_FLAGS, main_mxcsr, "main MXCSR 0x%x, was 0x%x", get_mxcsr(),
                 main_mxcsr);
    cr_expect_eq(get_fcw(), main_fcw, "main x87 CW 0x%x, was 0x%x", get_fcw(), main_fcw);

    /* And the coroutine gets its own back. */
    resume(&fp);
    cr_expect_eq(fp_round_on_return, FE_DOWNWARD, "coroutine rounding %d on its return",
                 fp_round_on_return);
    cr_expect_eq(fp_mxcsr_on_return, fp_mxcsr_mine, "coroutine MXCSR 0x%x, was 0x%x",
                 fp_mxcsr_on_return, fp_mxcsr_mine);
    cr_expect_eq(fp_fcw_on_return, fp_fcw_mine, "coroutine x87 CW 0x%x, was 0x%x", fp_fcw_on_return,
                 fp_fcw_mine);
    cr_expect_eq(fegetround(), FE_UPWARD);
    cr_expect_eq(get_mxcsr() & ~MXCSR_FLAGS, main_mxcsr);
    cr_expect_eq(get_fcw(), main_fcw);

    set_mxcsr(MXCSR_DEFAULT);
    set_fcw(FCW_DEFAULT);
    cr_assert_eq(fesetround(FE_TONEAREST), 0);
    coro_free(&fp);
}

#endif /* __x86_64__ */
