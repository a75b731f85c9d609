#ifndef GROWKIT_CZSTD_SHIM_H
#define GROWKIT_CZSTD_SHIM_H
#include <zstd.h>
#endif
