/* rtadvisor built-in workload "idle": say it is up, then sleep until killed (the density probe).
 * sleep() rather than pause(): WASI has no signals, but its clocks work through poll_oneoff. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    fputs("rtadvisor-idle-ready\n", stdout);
    fflush(stdout);
    for (;;) {
        sleep(3600);
    }
    return 0;
}
