// SPDX-License-Identifier: Apache-2.0
// Round trip of vaccel_noop() through the rpc plugin to a running agent,
// next to a raw 64-byte ping-pong with a forked echo child over a unix
// socket, in the same run. Needs only an installed vAccel (devkit/), so it
// runs on machines where bench/bench_rpc.cpp is not built:
//
//   cc -O2 rpc_rtt.c -I<prefix>/include -L<prefix>/lib -lvaccel -o rpc_rtt
//   VACCEL_PLUGINS=<prefix>/lib/libvaccel-rpc.so
//     VACCEL_RPC_ADDRESS=unix:///tmp/agent.sock ./rpc_rtt [N]
//
// (with `vaccel-agent -a unix:///tmp/agent.sock` serving the noop plugin).
// Prints the mean and median of N round trips of each (default 20000).
//
//   ./rpc_rtt N MODEL.pt D0 D1 ...
// times vaccel_torch_model_run() of MODEL on a float32 input of shape
// D0xD1x... instead of vaccel_noop(): through the agent as above, or in
// this process with VACCEL_PLUGINS=libvaccel-torch.so. This process never
// touches a GPU itself, as a VM guest would not. RTT_THREADS=k makes the
// calls from k threads in turn (see timed_calls()).
#include <vaccel.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * RTT_THREADS=k: consecutive calls are made by k threads in turn (call i
 * on thread i % k), as a worker pool hands calls out; 0 (default): all on
 * the main thread.
 */
struct ring {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int turn, threads, calls, next;
	int (*call)(void *);
	void *arg;
	double *t;
	int failed;
};

struct seat {
	struct ring *r;
	int id;
};

static double now_us(void);

static void *ring_thread(void *p)
{
	struct seat *s = p;
	struct ring *r = s->r;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->turn != s->id && r->next < r->calls)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->next >= r->calls)
			break;
		const int i = r->next++;
		pthread_mutex_unlock(&r->mu);
		double a = now_us();
		int rc = r->call(r->arg);
		double b = now_us();
		pthread_mutex_lock(&r->mu);
		r->t[i] = b - a;
		r->failed |= rc != 0;
		r->turn = (r->turn + 1) % r->threads;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Times @p calls calls of @p call into @p t, on the main thread or on a
 * ring of RTT_THREADS threads. Returns non-zero if a call failed. */
static int timed_calls(int (*call)(void *), void *arg, double *t, int calls)
{
	const char *e = getenv("RTT_THREADS");
	int k = e != NULL ? atoi(e) : 0;
	if (k <= 0) {
		for (int i = 0; i < calls; i++) {
			double a = now_us();
			if (call(arg) != 0)
				return 1;
			t[i] = now_us() - a;
		}
		return 0;
	}
	struct ring r = {PTHREAD_MUTEX_INITIALIZER,
			 PTHREAD_COND_INITIALIZER,
			 0,
			 k,
			 calls,
			 0,
			 call,
			 arg,
			 t,
			 0};
	pthread_t th[64];
	struct seat seats[64];
	if (k > 64)
		k = r.threads = 64;
	for (int j = 0; j < k; j++) {
		seats[j].r = &r;
		seats[j].id = j;
		pthread_create(&th[j], NULL, ring_thread, &seats[j]);
	}
	for (int j = 0; j < k; j++)
		pthread_join(th[j], NULL);
	return r.failed;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void report(const char *what, double *t, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += t[i];
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("%-28s mean %8.1f us  median %8.1f us  p99 %8.1f us\n", what,
	       sum / n, t[n / 2], t[n * 99 / 100]);
}

static int noop_call(void *sess)
{
	return vaccel_noop(sess) != VACCEL_OK;
}

struct torch_call {
	struct vaccel_session *sess;
	struct vaccel_resource *model;
	struct vaccel_torch_tensor *in;
};

static int torch_run(void *p)
{
	struct torch_call *c = p;
	struct vaccel_torch_tensor *out = NULL;
	if (vaccel_torch_model_run(c->sess, c->model, NULL, &c->in, 1, &out,
				   1) != VACCEL_OK)
		return 1;
	vaccel_torch_tensor_delete(out);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	if (n < 100)
		n = 100;
	double *t = calloc((size_t)n, sizeof(*t));
	double *raw = calloc((size_t)n, sizeof(*raw));
	if (t == NULL || raw == NULL)
		return 1;

	/* Raw baseline: a child echoes 64 bytes back over a socketpair. */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		char b[64];
		close(sv[0]);
		while (read(sv[1], b, sizeof(b)) == (ssize_t)sizeof(b))
			if (write(sv[1], b, sizeof(b)) != (ssize_t)sizeof(b))
				break;
		_exit(0);
	}
	close(sv[1]);
	char buf[64];
	memset(buf, 1, sizeof(buf));
	for (int i = 0; i < n; i++) {
		double a = now_us();
		if (write(sv[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
		    read(sv[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return 1;
		raw[i] = now_us() - a;
	}
	close(sv[0]);
	waitpid(child, NULL, 0);

	struct vaccel_session sess;
	if (vaccel_session_init(&sess, 0) != VACCEL_OK) {
		fprintf(stderr, "rpc_rtt: no session (agent not reachable?)\n");
		return 1;
	}
	if (argc > 3) {
		int64_t dims[8];
		int nd = argc - 3 > 8 ? 8 : argc - 3;
		size_t count = 1;
		for (int i = 0; i < nd; i++) {
			dims[i] = atoll(argv[3 + i]);
			count *= (size_t)dims[i];
		}
		float *x = calloc(count, sizeof(float));
		struct vaccel_resource model;
		struct vaccel_torch_tensor *in = NULL;
		if (x == NULL ||
		    vaccel_resource_init(&model, argv[2],
					 VACCEL_RESOURCE_MODEL) != VACCEL_OK ||
		    vaccel_resource_register(&model, &sess) != VACCEL_OK ||
		    vaccel_torch_model_load(&sess, &model) != VACCEL_OK ||
		    vaccel_torch_tensor_new(&in, nd, dims,
					    VACCEL_TORCH_FLOAT) != VACCEL_OK ||
		    vaccel_torch_tensor_set_data(in, x, count * 4) !=
			VACCEL_OK) {
			fprintf(stderr, "rpc_rtt: model setup failed\n");
			return 1;
		}
		struct torch_call c = {&sess, &model, in};
		/* The first calls (on every thread of the ring) warm up. */
		if (timed_calls(torch_run, &c, t, n) != 0 ||
		    timed_calls(torch_run, &c, t, n) != 0)
			return 1;
		vaccel_torch_tensor_delete(in);
		vaccel_resource_unregister(&model, &sess);
		vaccel_resource_release(&model);
		free(x);
		report("raw unix ping-pong (64 B)", raw, n);
		report("vaccel_torch_model_run", t, n);
	} else {
		if (timed_calls(noop_call, &sess, t, n) != 0 ||
		    timed_calls(noop_call, &sess, t, n) != 0)
			return 1;
		report("raw unix ping-pong (64 B)", raw, n);
		report("vaccel_noop through agent", t, n);
	}
	vaccel_session_release(&sess);
	free(t);
	free(raw);
	return 0;
}
