/* rtadvisor built-in workload "hello": print one line and exit 0 (the cold-start probe). */
#include <stdio.h>

int main(void) {
    fputs("hello from rtadvisor\n", stdout);
    return 0;
}
