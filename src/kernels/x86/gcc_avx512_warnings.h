// GCC 12's AVX-512 intrinsics (conversions, unpacks, the reductions' extracts) pass _mm512_undefined_*()
// (a self-initialized variable) as an unused merge source, which -W(maybe-)uninitialized then reports at
// every use (GCC bug 105593, fixed in GCC 13). Included first by the AVX-512 kernel files only, so the
// rest of the library keeps both warnings.
#pragma once

#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
