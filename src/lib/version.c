#include "heapprof.h"

const char *hp_version(void) { return HP_VERSION_STRING; }

unsigned hp_version_number(void) { return HP_VERSION_NUMBER; }
