// libcrypto's SHA-256 (OpenSSL 3, Debian's libssl-dev): the SHA-NI / AVX2 code paths
// hash a multi-GB input at several GB/s, where a portable loop manages a few hundred MB/s.
#include <openssl/evp.h>
