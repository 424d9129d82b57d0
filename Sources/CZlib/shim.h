#ifndef TERN_CZLIB_SHIM_H
#define TERN_CZLIB_SHIM_H

#include <zlib.h>

// inflateInit2 and deflateInit2 are function-like macros, which Swift does not import;
// these wrappers pass zlib's version and stream size exactly as the macros would.
static inline int tern_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

static inline int tern_deflateInit2(z_streamp stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}

#endif
