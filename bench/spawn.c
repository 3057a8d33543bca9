/* spawn: run one command and report its wall time and rusage, for bench.py.
 *
 *   spawn RESULT_FILE DIR STDIN_FILE OUT_FILE PATH ARGV0 [ARGS...]
 *
 * fork()s (this process is tiny, so the child's pre-exec RSS is too), runs PATH in DIR with
 * stdin from STDIN_FILE and stdout+stderr appended to OUT_FILE, wait4()s for it and writes
 *   exit_code start_monotonic_ns wall_ns user_us sys_us maxrss_kib
 * to RESULT_FILE. Why not spawn from Python: after vfork/fork, a process's max RSS starts at its
 * parent's, so every child of the ~30 MiB driver would report >= 30 MiB. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: spawn RESULT DIR STDIN OUT PATH ARGV0 [ARGS...]\n");
    return 2;
  }
  const char *result = argv[1], *dir = argv[2], *in = argv[3], *out = argv[4], *path = argv[5];
  long long t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 2; }
  if (pid == 0) {
    int i = open(in, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (i < 0 || o < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0 || chdir(dir) < 0) _exit(126);
    close(i);
    close(o);
    execv(path, argv + 6);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) { perror("wait4"); return 2; }
  long long wall = now_ns() - t0;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  FILE *f = fopen(result, "w");
  if (!f) { perror(result); return 2; }
  fprintf(f, "%d %lld %lld %lld %lld %ld\n", code, t0, wall,
          (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
          (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss);
  fclose(f);
  return 0;
}
