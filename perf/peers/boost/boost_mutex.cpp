// boost_mutex: Boost.Fiber peer of braid's mutex benchmark (perf/mutex.c),
// same shape.
//
// 4 fibers per thread share one boost::fibers::mutex, each taking it K
// times around one increment of a shared counter; N (default 1,000,000)
// lock operations in all, split evenly. The final count must be N.
// ns_per_op is per lock + increment + unlock. (unlock wakes the first
// waiter, which then competes for the mutex again.)
#include "boost_common.hpp"

static long long contend(long n, long tasks) {
    boost::fibers::mutex m;
    long long counter = 0;
    std::vector<boost::fibers::fiber> fs;
    for (long i = 0; i < tasks; i++) {
        long k = n / tasks + (i < n % tasks);
        fs.emplace_back([&m, &counter, k] {
            for (long j = 0; j < k; j++) {
                m.lock();
                counter++;
                m.unlock();
            }
        });
    }
    for (auto &f : fs) f.join();
    std::lock_guard<boost::fibers::mutex> lk(m);
    return counter;
}

int main(int argc, char **argv) {
    PeerArgs a = peer_parse(argc, argv, 1000000);
    long n = a.n, tasks = 4L * a.threads;
    PeerGuard guard("mutex", a.threads, a.n);
    FiberPool pool(a.threads);
    auto ms = peer_time("mutex", a.reps, n, [n, tasks] { return contend(n, tasks); });
    peer_report("mutex", a.threads, a.n, ms, static_cast<double>(n > 0 ? n : 1), n);
    return 0;
}
