#include "CICU.h"

#include <stdlib.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>
#include <unicode/uversion.h>

/* ---------------------------------------------------------------- normalize */

/// Concierge's mapping applied after NFKC_Casefold. Returns the replacement
/// code unit, 0 to drop the unit, or the unit itself.
static uint16_t concierge_fold(uint16_t unit) {
    switch (unit) {
    case 0x3002: case 0xFF61: return '.';                  /* 。 ｡ */
    case 0x3001: case 0xFF64: return ',';                  /* 、 ､ */
    case 0x300C: case 0x300D: case 0x300E: case 0x300F:    /* 「」『』 */
    case 0x201C: case 0x201D: case 0x201E: case 0x300A:    /* “ ” „ 《 */
    case 0x300B: case 0x3008: case 0x3009:                 /* 》 〈 〉 */
        return '"';
    case 0x2018: case 0x2019: case 0x201A: return '\'';    /* ‘ ’ ‚ */
    case 0x3010: case 0x3014: case 0x3016: return '[';    /* 【 〔 〖 */
    case 0x3011: case 0x3015: case 0x3017: return ']';    /* 】 〕 〗 */
    case 0x2013: case 0x2014: case 0x2015: case 0x2212: return '-'; /* – — ― − */
    case 0xFFFD: return 0;                                 /* repaired invalid input */
    default: break;
    }
    if (unit < 0x80) {
        if (unit == '\t' || unit == '\n' || unit == '\v' || unit == '\f' || unit == '\r') return ' ';
        if (unit < 0x20 || unit == 0x7F) return 0;
        return unit;
    }
    if (U16_IS_SURROGATE(unit)) return unit;
    if (u_isUWhiteSpace(unit)) return ' ';
    int8_t type = u_charType(unit);
    if (type == U_CONTROL_CHAR || type == U_FORMAT_CHAR) return 0;
    return unit;
}

static const UNormalizer2 *nfkc_casefold(void) {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *normalizer = unorm2_getNFKCCasefoldInstance(&status);
    return U_FAILURE(status) ? NULL : normalizer;
}

/// True when the unit at `index` surely starts a new normalization chunk:
/// ASCII, Latin-1 and CJK unified ideographs never combine with what precedes.
static int starts_simple_chunk(const uint16_t *source, int32_t index, int32_t length) {
    if (index >= length) return 1;
    uint16_t unit = source[index];
    return unit < 0x300 || (unit >= 0x4E00 && unit <= 0x9FFF);
}

int32_t cicu_normalize(const uint16_t *source, int32_t sourceLength,
                       uint16_t *output, int32_t *originStart, int32_t *originEnd,
                       int32_t capacity) {
    const UNormalizer2 *normalizer = nfkc_casefold();
    if (normalizer == NULL) return -2;
    int32_t written = 0;
    int32_t index = 0;
    while (index < sourceLength) {
        uint16_t unit = source[index];
        int simple = (unit < 0x80 || (unit >= 0x4E00 && unit <= 0x9FFF))
                     && starts_simple_chunk(source, index + 1, sourceLength);
        if (simple) {
            /* Fast path: NFKC_Casefold of ASCII is lowercasing; CJK ideographs are inert. */
            uint16_t mapped = (unit >= 'A' && unit <= 'Z') ? (uint16_t)(unit + 32) : concierge_fold(unit);
            if (mapped != 0) {
                if (written >= capacity) return -1;
                output[written] = mapped;
                originStart[written] = index;
                originEnd[written] = index + 1;
                written += 1;
            }
            index += 1;
            continue;
        }
        /* General path: one normalization chunk, from here to the next boundary. */
        int32_t chunkStart = index;
        UChar32 codePoint;
        U16_NEXT(source, index, sourceLength, codePoint);
        if (U_IS_SURROGATE(codePoint)) continue; /* a lone surrogate: dropped */
        while (index < sourceLength) {
            int32_t next = index;
            UChar32 following;
            U16_NEXT(source, next, sourceLength, following);
            if (U_IS_SURROGATE(following) || unorm2_hasBoundaryBefore(normalizer, following)) break;
            index = next;
        }
        if (written >= capacity) return -1;
        UErrorCode status = U_ZERO_ERROR;
        int32_t produced = unorm2_normalize(normalizer, (const UChar *)(source + chunkStart),
                                            index - chunkStart, (UChar *)(output + written),
                                            capacity - written, &status);
        if (status == U_BUFFER_OVERFLOW_ERROR || produced > capacity - written) return -1;
        if (U_FAILURE(status)) return -2;
        /* Apply Concierge's folding in place, giving each unit the chunk's origin. */
        int32_t kept = written;
        for (int32_t k = written; k < written + produced; k++) {
            uint16_t mapped = concierge_fold(output[k]);
            if (mapped == 0) continue;
            output[kept] = mapped;
            originStart[kept] = chunkStart;
            originEnd[kept] = index;
            kept += 1;
        }
        written = kept;
    }
    return written;
}

/* ---------------------------------------------------------------- segment */

struct cicu_segmenter {
    UBreakIterator *iterator;
};

cicu_segmenter *cicu_segmenter_open(void) {
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *iterator = ubrk_open(UBRK_WORD, "", NULL, 0, &status);
    if (U_FAILURE(status) || iterator == NULL) return NULL;
    cicu_segmenter *segmenter = malloc(sizeof *segmenter);
    if (segmenter == NULL) {
        ubrk_close(iterator);
        return NULL;
    }
    segmenter->iterator = iterator;
    return segmenter;
}

void cicu_segmenter_close(cicu_segmenter *segmenter) {
    if (segmenter == NULL) return;
    ubrk_close(segmenter->iterator);
    free(segmenter);
}

static uint8_t kind_of_unlettered(const uint16_t *text, int32_t start, int32_t end) {
    int32_t index = start;
    UChar32 codePoint;
    U16_NEXT(text, index, end, codePoint);
    if (u_isUWhiteSpace(codePoint)) return CICU_SEGMENT_SPACE;
    if (u_hasBinaryProperty(codePoint, UCHAR_EXTENDED_PICTOGRAPHIC)
        || u_hasBinaryProperty(codePoint, UCHAR_REGIONAL_INDICATOR)
        || u_hasBinaryProperty(codePoint, UCHAR_EMOJI_PRESENTATION)) {
        return CICU_SEGMENT_EMOJI;
    }
    return CICU_SEGMENT_PUNCTUATION;
}

int32_t cicu_segment(cicu_segmenter *segmenter, const uint16_t *text, int32_t textLength,
                     int32_t *starts, int32_t *ends, uint8_t *kinds, int32_t capacity) {
    if (segmenter == NULL) return -2;
    if (textLength == 0) return 0;
    UErrorCode status = U_ZERO_ERROR;
    ubrk_setText(segmenter->iterator, (const UChar *)text, textLength, &status);
    if (U_FAILURE(status)) return -2;
    int32_t count = 0;
    int32_t start = ubrk_first(segmenter->iterator);
    for (int32_t end = ubrk_next(segmenter->iterator); end != UBRK_DONE;
         start = end, end = ubrk_next(segmenter->iterator)) {
        if (count >= capacity) return -1;
        int32_t rule = ubrk_getRuleStatus(segmenter->iterator);
        uint8_t kind;
        if (rule >= UBRK_WORD_IDEO && rule < UBRK_WORD_IDEO_LIMIT) kind = CICU_SEGMENT_IDEOGRAPHIC;
        else if (rule >= UBRK_WORD_KANA && rule < UBRK_WORD_KANA_LIMIT) kind = CICU_SEGMENT_IDEOGRAPHIC;
        else if (rule >= UBRK_WORD_LETTER && rule < UBRK_WORD_LETTER_LIMIT) kind = CICU_SEGMENT_WORD;
        else if (rule >= UBRK_WORD_NUMBER && rule < UBRK_WORD_NUMBER_LIMIT) kind = CICU_SEGMENT_NUMBER;
        else kind = kind_of_unlettered(text, start, end);
        starts[count] = start;
        ends[count] = end;
        kinds[count] = kind;
        count += 1;
    }
    return count;
}

const char *cicu_version(void) {
    static char text[U_MAX_VERSION_STRING_LENGTH];
    UVersionInfo version;
    u_getVersion(version);
    u_versionToString(version, text);
    return text;
}
