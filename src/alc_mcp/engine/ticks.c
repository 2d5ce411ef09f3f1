/*
 * CPU ticks for the Lua sandbox: limit checks without a count hook.
 *
 * Lua 5.4 traps every instruction while any count hook is set, whatever its count,
 * so a counted loop runs about twice as slow as a bare one. Instead, each session
 * thread gets a POSIX timer on its own CPU clock; every TICK of CPU the kernel sends
 * the thread a signal, and the handler arms the hook for one instruction on the Lua
 * state the thread is running (lua_sethook is safe to call from a signal handler on
 * the thread that runs the state: lua.c does the same for Ctrl-C). The hook checks the
 * limits and turns itself off again. A thread that waits for an answer uses no CPU and
 * gets no ticks.
 *
 * The library does not link against Lua: lupa carries its own copy, statically, and
 * Python hands us its functions' addresses (alc_ticks_init). Lua calls in through two
 * C functions the sandbox takes and hides at start-up: which state runs (coroutine
 * switches) and the address of the debug library's hook dispatcher.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef struct lua_State lua_State;
typedef struct lua_Debug lua_Debug;
typedef void (*lua_Hook)(lua_State *L, lua_Debug *ar);
typedef int (*lua_CFunction)(lua_State *L);

#define LUA_MASKCOUNT (1 << 3)
#define LUA_TTHREAD 8

static void (*p_sethook)(lua_State *, lua_Hook, int, int);
static lua_Hook (*p_gethook)(lua_State *);
static lua_State *(*p_tothread)(lua_State *, int);
static int (*p_type)(lua_State *, int);
static void (*p_pushcclosure)(lua_State *, lua_CFunction, int);
static void (*p_setglobal)(lua_State *, const char *);

/* The debug library's dispatcher (ldblib's hookf, one function for every VM): armed
 * with it, the hook calls the Lua function debug.sethook registered for the state. */
static lua_Hook volatile dispatcher;
static int tick_signal;
static long tick_ns;

/* One per thread that runs Lua in ticked mode. Never freed, only reused: a tick still
 * queued when its timer is deleted arrives later with a pointer to it. */
struct ticker {
    lua_State *volatile current; /* the state the next tick arms */
    volatile pid_t tid;          /* the thread it belongs to, 0 when free */
    timer_t timer;
    int depth;                   /* nested VMs on this thread */
    struct ticker *next_free;
};

static __thread struct ticker *mine;
static struct ticker *free_list;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static pid_t thread_id(void) { return (pid_t)syscall(SYS_gettid); }

static void on_tick(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)context;
    if (info->si_code != SI_TIMER) return;
    struct ticker *t = info->si_value.sival_ptr;
    int saved = errno;
    if (t != NULL && t->tid == thread_id()) {
        lua_State *L = t->current;
        lua_Hook hook = dispatcher;
        if (L != NULL && hook != NULL) p_sethook(L, hook, LUA_MASKCOUNT, 1);
    }
    errno = saved;
}

/* Lua: running(co) — the thread now runs coroutine co (or returns to it). */
static int lua_running(lua_State *L) {
    struct ticker *t = mine;
    if (t != NULL && p_type(L, 1) == LUA_TTHREAD) {
        lua_State *co = p_tothread(L, 1);
        if (co != NULL) t->current = co;
    }
    return 0;
}

/* Lua: capture() — called with the hook set, to learn the dispatcher's address. */
static int lua_capture(lua_State *L) {
    lua_Hook hook = p_gethook(L);
    if (hook != NULL) dispatcher = hook;
    return 0;
}

int alc_ticks_init(void *sethook, void *gethook, void *tothread, void *type, void *pushcclosure,
                   void *setglobal, int signal_offset, long period_ns) {
    p_sethook = (void (*)(lua_State *, lua_Hook, int, int))sethook;
    p_gethook = (lua_Hook(*)(lua_State *))gethook;
    p_tothread = (lua_State * (*)(lua_State *, int)) tothread;
    p_type = (int (*)(lua_State *, int))type;
    p_pushcclosure = (void (*)(lua_State *, lua_CFunction, int))pushcclosure;
    p_setglobal = (void (*)(lua_State *, const char *))setglobal;
    tick_signal = SIGRTMIN + signal_offset;
    if (tick_signal > SIGRTMAX) return EINVAL;
    tick_ns = period_ns;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_tick;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    return sigaction(tick_signal, &action, NULL) == 0 ? 0 : errno;
}

/* Define the globals __alc_tick_running and __alc_tick_capture in a fresh VM, for the
 * sandbox bootstrap to take and remove. Call before any Lua runs in it. */
void alc_ticks_register(lua_State *L) {
    p_pushcclosure(L, lua_running, 0);
    p_setglobal(L, "__alc_tick_running");
    p_pushcclosure(L, lua_capture, 0);
    p_setglobal(L, "__alc_tick_capture");
}

static struct ticker *take_ticker(void) {
    pthread_mutex_lock(&pool_lock);
    struct ticker *t = free_list;
    if (t != NULL) free_list = t->next_free;
    pthread_mutex_unlock(&pool_lock);
    if (t == NULL) t = calloc(1, sizeof *t);
    return t;
}

static void give_back(struct ticker *t) {
    t->tid = 0;
    t->current = NULL;
    pthread_mutex_lock(&pool_lock);
    t->next_free = free_list;
    free_list = t;
    pthread_mutex_unlock(&pool_lock);
}

/* The calling thread starts running a VM; `saved` keeps what alc_ticks_leave restores
 * (a VM run inside another on the same thread). 0 or errno. */
int alc_ticks_enter(lua_State **saved) {
    struct ticker *t = mine;
    if (t == NULL) {
        t = take_ticker();
        if (t == NULL) return ENOMEM;
        struct sigevent event;
        memset(&event, 0, sizeof event);
        event.sigev_notify = SIGEV_THREAD_ID;
        event.sigev_signo = tick_signal;
        event.sigev_value.sival_ptr = t;
        event._sigev_un._tid = thread_id();
        t->depth = 0;
        t->current = NULL;
        t->tid = thread_id();
        if (timer_create(CLOCK_THREAD_CPUTIME_ID, &event, &t->timer) != 0) {
            int err = errno;
            give_back(t);
            return err;
        }
        struct itimerspec every;
        every.it_value.tv_sec = every.it_interval.tv_sec = tick_ns / 1000000000L;
        every.it_value.tv_nsec = every.it_interval.tv_nsec = tick_ns % 1000000000L;
        if (timer_settime(t->timer, 0, &every, NULL) != 0) {
            int err = errno;
            timer_delete(t->timer);
            give_back(t);
            return err;
        }
        mine = t;
    }
    *saved = t->current;
    /* Nothing to arm until the sandbox names its state: the dispatcher reads the hook
     * table that the VM's first debug.sethook creates, and a tick before that would
     * index a table that does not exist yet. */
    t->current = NULL;
    t->depth++;
    return 0;
}

void alc_ticks_leave(lua_State *saved) {
    struct ticker *t = mine;
    if (t == NULL) return;
    t->current = saved;
    if (--t->depth > 0) return;
    t->current = NULL;
    timer_delete(t->timer);
    mine = NULL;
    give_back(t);
}
