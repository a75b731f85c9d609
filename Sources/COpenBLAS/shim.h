#ifndef GROWKIT_COPENBLAS_SHIM_H
#define GROWKIT_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
