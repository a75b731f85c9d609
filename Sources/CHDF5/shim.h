#ifndef GROWKIT_CHDF5_SHIM_H
#define GROWKIT_CHDF5_SHIM_H
// HDF5 exposes its type ids and property defaults as macros that expand to
// global variables behind H5open() or to casts; Swift imports neither. Each is
// wrapped here as a static inline function of the same meaning.
#include <hdf5.h>

static inline hid_t growkit_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t growkit_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t growkit_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline unsigned growkit_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned growkit_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned growkit_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned growkit_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline hid_t growkit_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t growkit_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t growkit_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t growkit_H5P_DATASET_XFER(void) { return H5P_DATASET_XFER; }
static inline hid_t growkit_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t growkit_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }

static inline hid_t growkit_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t growkit_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t growkit_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t growkit_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t growkit_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t growkit_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t growkit_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t growkit_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t growkit_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t growkit_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t growkit_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t growkit_H5T_STD_U16LE(void) { return H5T_STD_U16LE; }
static inline hid_t growkit_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t growkit_H5T_STD_U64LE(void) { return H5T_STD_U64LE; }
static inline hid_t growkit_H5T_C_S1(void) { return H5T_C_S1; }
static inline size_t growkit_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline hsize_t growkit_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }

#endif

/* An anonymous in-memory file (Linux memfd_create; glibc declares it only under
   _GNU_SOURCE, which Swift does not set). AtomicHDF5Writer.abandon() puts one
   under HDF5's descriptor so that closing a file after a failed write succeeds. */
extern int memfd_create(const char *name, unsigned int flags);
static inline int growkit_memfd_create(const char *name) { return memfd_create(name, 0); }

/* Starts writeback of bytes offset ..< offset + count of a file without waiting for it
   (Linux sync_file_range with SYNC_FILE_RANGE_WRITE; glibc declares it only under
   _GNU_SOURCE). */
extern int sync_file_range(int fd, long long offset, long long nbytes, unsigned int flags);
static inline int growkit_start_writeback(int fd, long long offset, long long count) {
    return sync_file_range(fd, offset, count, 2 /* SYNC_FILE_RANGE_WRITE */);
}
