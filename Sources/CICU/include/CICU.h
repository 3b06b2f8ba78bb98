/*
 * CICU: the small C shim between Concierge and the system ICU (libicuuc).
 *
 * ICU's own headers rename every function with a version suffix through macros
 * that Swift cannot import, and Foundation on Linux ships a private ICU whose
 * types would clash with the system one. So the ICU calls live in cicu.c and
 * this header exposes only <stdint.h> types and one opaque handle.
 *
 * All text is UTF-16 (ICU's native form). Lengths and offsets count UTF-16
 * code units.
 */
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Normalizes `source` with Unicode NFKC_Casefold plus Concierge's extra rules
/// (Chinese punctuation to ASCII, whitespace and control characters to one
/// space or nothing, U+FFFD and zero-width characters removed), keeping for
/// every output code unit the range of the source it came from.
///
/// - `output`, `originStart`, `originEnd` must each hold `capacity` elements;
///   `capacity >= 3 * sourceLength + 16` is always enough.
/// - On success returns the output length (>= 0). On failure returns -1
///   (capacity too small) or -2 (ICU failure); `output` is then unspecified.
int32_t cicu_normalize(const uint16_t *source, int32_t sourceLength,
                       uint16_t *output, int32_t *originStart, int32_t *originEnd,
                       int32_t capacity);

/// Kinds of segment reported by `cicu_segment`.
enum {
    CICU_SEGMENT_SPACE = 0,       ///< whitespace only: not a token
    CICU_SEGMENT_PUNCTUATION = 1, ///< punctuation or symbols, no letters or digits
    CICU_SEGMENT_NUMBER = 2,      ///< digits (possibly with , . separators)
    CICU_SEGMENT_WORD = 3,        ///< letters, or letters mixed with digits ("4b")
    CICU_SEGMENT_IDEOGRAPHIC = 4, ///< Han / kana words found by ICU's dictionary
    CICU_SEGMENT_EMOJI = 5,       ///< an emoji (including ZWJ sequences and flags)
};

/// An ICU word-break iterator, reusable across texts. Not thread-safe: give
/// every thread its own.
typedef struct cicu_segmenter cicu_segmenter;

/// Opens a word-break iterator (root locale; ICU segments Chinese and Japanese
/// with its dictionary whatever the locale). Returns NULL if ICU fails.
cicu_segmenter *cicu_segmenter_open(void);
void cicu_segmenter_close(cicu_segmenter *segmenter);

/// Splits `text` into word-break segments. Writes segment `i` as
/// `[starts[i], ends[i])` with kind `kinds[i]` and returns the number of
/// segments, or -1 if `capacity` segments were not enough (`capacity >=
/// textLength` always is), or -2 on an ICU failure.
int32_t cicu_segment(cicu_segmenter *segmenter, const uint16_t *text, int32_t textLength,
                     int32_t *starts, int32_t *ends, uint8_t *kinds, int32_t capacity);

/// The ICU version string, e.g. "72.1" (static storage).
const char *cicu_version(void);

#ifdef __cplusplus
}
#endif
