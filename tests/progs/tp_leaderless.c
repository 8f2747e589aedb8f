// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_leaderless: the main thread ends first (pthread_exit, a zombie in /proc while the
 * process lives on); a second thread goes on with malloc(64)+free pairs until SIGTERM, then
 * prints how many it made and ends the process.
 */
#include "../../labs/common.h"
#include <signal.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void *worker(void *arg)
{
	long pairs = 0;

	(void)arg;
	while (!stop) {
		free(malloc(64));
		pairs++;
		usleep(1000);
	}
	printf("pairs=%ld\n", pairs);
	exit(0);
}

int main(void)
{
	pthread_t t;

	signal(SIGTERM, on_term);
	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	printf("ready pid=%d\n", getpid());
	fflush(stdout);
	pthread_exit(NULL);
}
