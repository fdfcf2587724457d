/* INCRBYFLOAT/HINCRBYFLOAT arithmetic in C's `long double`, parsed with strtold and printed
 * with "%.17Lf", exactly as Redis does (t_string.c / t_hash.c, util.c's string2ld and
 * ld2string in LD_STR_HUMAN mode), so results match redis-server digit for digit on the same
 * platform (x87 80-bit on x86-64). Called from crates/engine/src/longdouble.rs. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LONG_DOUBLE_CHARS (5 * 1024)

/* Redis's string2ld: 1 and *dp on success, 0 if `s` is not a valid float. */
static int string2ld(const char *s, size_t slen, long double *dp) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    long double value;
    char *eptr;
    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    errno = 0;
    value = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        ((errno == ERANGE) && (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
        errno == EINVAL || isnan(value))
        return 0;
    *dp = value;
    return 1;
}

/* cur (NULL: 0) + incr, written to out in Redis's human form. Returns the length, or
 * -1 cur is not a float, -2 incr is not a float, -3 incr is NaN/Infinity, -4 the sum is
 * NaN/Infinity, -5 no room. */
long stashd_ld_add(const char *cur, size_t curlen, const char *incr, size_t incrlen, char *out, size_t outlen) {
    long double value = 0, by;
    if (cur != NULL && !string2ld(cur, curlen, &value)) return -1;
    if (!string2ld(incr, incrlen, &by)) return -2;
    if (isnan(by) || isinf(by)) return -3;
    value += by;
    if (isnan(value) || isinf(value)) return -4;
    int l = snprintf(out, outlen, "%.17Lf", value);
    if (l < 0 || (size_t)l + 1 > outlen) return -5;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') {
            p--;
            l--;
        }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        l = 1;
    }
    return l;
}
