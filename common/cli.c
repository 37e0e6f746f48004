/* cli.c - error exits, option parsing, colours: nothing else (issue 10). */
#include "cli.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

const char *cl_progname = "corolab";

/* One message, one line: the lock keeps threads (07 --threads) from
 * interleaving their pieces. */
static void vsay(const char *fmt, va_list ap, const char *tail)
{
    fflush(stdout);
    flockfile(stderr);
    fprintf(stderr, "%s: ", cl_progname);
    vfprintf(stderr, fmt, ap);
    if (tail)
        fprintf(stderr, ": %s", tail);
    fputc('\n', stderr);
    funlockfile(stderr);
}

void cl_err_exit(const char *fmt, ...)
{
    const char *why = strerror(errno);
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap, why);
    va_end(ap);
    exit(CL_EXIT_FAIL);
}

void cl_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap, NULL);
    va_end(ap);
    exit(CL_EXIT_FAIL);
}

void cl_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap, NULL);
    va_end(ap);
}

void cl_usage_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap, NULL);
    va_end(ap);
    fprintf(stderr, _("Try '%s --help' for more information.\n"), cl_progname);
    exit(CL_EXIT_USAGE);
}

/* The tree's catalogue while it is there (the programs run from the tree),
 * else the installed one: both paths come from corolab.mk. */
static const char *locale_dir(void)
{
#ifdef CL_LOCALEDIR_BUILD
    if (access(CL_LOCALEDIR_BUILD "/zh_CN/LC_MESSAGES/" CL_TEXTDOMAIN ".mo", R_OK) == 0)
        return CL_LOCALEDIR_BUILD;
#endif
#ifdef CL_LOCALEDIR
    return CL_LOCALEDIR;
#else
    return "/usr/local/share/locale";
#endif
}

static bool plain_c_locale(void)
{
    const char *m = setlocale(LC_MESSAGES, NULL);
    return !m || strcmp(m, "C") == 0 || strcmp(m, "POSIX") == 0 ||
           strcmp(nl_langinfo(CODESET), "UTF-8") != 0;
}

void cl_i18n_init(const char *lang)
{
    setlocale(LC_ALL, "");
    if (lang && strcmp(lang, "zh") == 0) {
        setenv("LANGUAGE", "zh_CN", 1);
        /* gettext needs a UTF-8 locale other than "C" to show Chinese. */
        if (plain_c_locale() && !setlocale(LC_ALL, "zh_CN.UTF-8") &&
            !setlocale(LC_ALL, "C.UTF-8"))
            fprintf(stderr, "%s: --lang zh: no zh_CN.UTF-8 or C.UTF-8 locale "
                    "here, so English (run 'make deps' or locale-gen)\n", cl_progname);
    } else if (lang) {
        setenv("LANGUAGE", "en", 1); /* there is no English catalogue */
    }
    setlocale(LC_NUMERIC, "C");
    bindtextdomain(CL_TEXTDOMAIN, locale_dir());
    textdomain(CL_TEXTDOMAIN);
}

int cl_text_width(const char *s)
{
    mbstate_t st;
    int cols = 0;
    memset(&st, 0, sizeof st);
    while (*s) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s, strlen(s), &st);
        int w = 1;
        if (k == (size_t)-1 || k == (size_t)-2) {
            memset(&st, 0, sizeof st);
            k = 1;
        } else if ((w = wcwidth(wc)) < 0) {
            w = 0;
        }
        cols += w;
        s += k;
    }
    return cols;
}

bool cl_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cl_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* --help fits an 80-column terminal: text is printed from column `col`
 * (the caller has already printed that much), broken at spaces or beside
 * a CJK character (which takes two columns: wcwidth), and continued on new
 * lines indented to `indent`. A '\n' in text starts a new line too. A single
 * word wider than the room is printed whole. */
enum { HELP_WIDTH = 80, HELP_LEFT = 26 };

/* Chinese punctuation (，。：；）、！？) never starts a line. */
static bool no_break_before(wchar_t wc)
{
    return (wc >= 0x3001 && wc <= 0x3002) || (wc >= 0xff01 && wc <= 0xff1f);
}

/* The bytes of s (a line of n bytes) that fit in room columns. */
static size_t fitting(const char *s, size_t n, int room)
{
    size_t i = 0, brk = 0;
    int w = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    while (i < n) {
        wchar_t wc = s[i];
        size_t k = mbrtowc(&wc, s + i, n - i, &st);
        int cw = 1;
        if (k == 0 || k == (size_t)-1 || k == (size_t)-2) {
            memset(&st, 0, sizeof st);
            k = 1;
        } else if ((cw = wcwidth(wc)) < 0) {
            cw = 1;
        }
        if (s[i] == ' ' || (cw == 2 && i > 0 && !no_break_before(wc)))
            brk = i;
        if (w + cw > room)
            return brk ? brk : i + strcspn(s + i, " \n"); /* the word whole */
        w += cw;
        i += k;
    }
    return n;
}

static void print_wrapped(const char *text, int col, int indent)
{
    const char *s = text;
    while (*s) {
        size_t len = fitting(s, strcspn(s, "\n"), HELP_WIDTH - col);
        printf("%.*s\n", (int)len, s);
        s += len;
        while (*s == ' ')
            s++;
        if (*s == '\n')
            s++;
        if (*s && *s != '\n')
            printf("%*s", indent, "");
        col = indent;
    }
}

static void print_option(const char *left, const char *help)
{
    int pad = HELP_LEFT - cl_text_width(left);
    printf("  %s%*s ", left, pad > 0 ? pad : 0, "");
    print_wrapped(help, 2 + HELP_LEFT + 1, 2 + HELP_LEFT + 1);
}

static void print_help(const cl_program *p)
{
    const cl_option *o;
    printf(_("Usage: %s [OPTION]...%s%s\n"), cl_progname, p->args ? " " : "",
           p->args ? _(p->args) : "");
    print_wrapped(_(p->summary), 0, 0);
    printf(_("\nOptions:\n"));
    for (o = p->options; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%c%c%c --%s%s%s",
                 o->short_name ? '-' : ' ',
                 o->short_name ? o->short_name : ' ',
                 o->short_name ? ',' : ' ', o->name,
                 o->arg_name ? " " : "", o->arg_name ? o->arg_name : "");
        print_option(left, _(o->help));
    }
    print_option("    --trace", _("show every switch on stderr (or set COROLAB_TRACE=1)"));
    print_option("    --trace-file FILE", _("write the trace to FILE.json or FILE.svg/.html"));
    print_option("    --lang zh|en", _("speak Chinese or English (default: LANGUAGE, LC_ALL, LANG)"));
    print_option("-h, --help", _("show this help and exit"));
    print_option("-V, --version", _("show the version and exit"));
    if (p->details) {
        printf("\n");
        print_wrapped(_(p->details), 0, 0);
    }
}

static const cl_option *find_long(const cl_program *p, const char *name, size_t len)
{
    const cl_option *o;
    for (o = p->options; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static const cl_option *find_short(const cl_program *p, char c)
{
    const cl_option *o;
    for (o = p->options; o && o->name; o++)
        if (o->short_name == c)
            return o;
    return NULL;
}

static void take_value(const cl_option *o, const char *v)
{
    double lo = o->min, hi = o->max;
    if (lo == hi) {
        lo = -DBL_MAX;
        hi = DBL_MAX;
    }
    switch (o->type) {
    case CL_OPT_FLAG:
        *(bool *)o->value = true;
        break;
    case CL_OPT_INT: {
        long l = lo < (double)LONG_MIN ? LONG_MIN : (long)lo;
        long h = hi > (double)LONG_MAX ? LONG_MAX : (long)hi;
        if (!cl_parse_long(v, l, h, (long *)o->value))
            cl_usage_err(_("--%s wants a whole number from %ld to %ld, not '%s'"),
                         o->name, l, h, v);
        break;
    }
    case CL_OPT_DOUBLE:
        if (!cl_parse_double(v, lo, hi, (double *)o->value))
            cl_usage_err(_("--%s wants a number from %g to %g, not '%s'"),
                         o->name, lo, hi, v);
        break;
    case CL_OPT_STRING:
        *(const char **)o->value = v;
        break;
    }
}

/* The name the program was run by, for messages and the "Try ... --help"
 * line: `corolab-03_gevent_sleep` once installed, `03_gevent_sleep` here. */
static const char *invoked_name(const cl_program *p, int argc, char **argv)
{
    const char *slash;
    if (argc < 1 || !argv[0] || !argv[0][0])
        return p->name;
    slash = strrchr(argv[0], '/');
    return slash && slash[1] ? slash + 1 : argv[0];
}

/* A lesson's output is about when things happen: `./03_gevent_sleep | tee
 * log` must show each line as it is printed, not all of them when the
 * buffer fills or the program ends. So stdout is line-buffered wherever it
 * goes, except into a character device that is not a terminal (/dev/null,
 * where 04 --tasks 1000000 sends a million lines nobody watches). */
static void line_buffer_stdout(void)
{
    struct stat st;
    if (!isatty(STDOUT_FILENO) && fstat(STDOUT_FILENO, &st) == 0 &&
        S_ISCHR(st.st_mode))
        return;
    setvbuf(stdout, NULL, _IOLBF, 0);
}

/* --lang's value, looked for before anything is printed (an error about an
 * earlier argument is already in that language); NULL if none. */
static const char *find_lang(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        if (strcmp(argv[i], "--lang") == 0)
            return i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(argv[i], "--lang=", 7) == 0)
            return argv[i] + 7;
    }
    return NULL;
}

int cl_parse_args(const cl_program *p, int argc, char **argv)
{
    int i, npos = 0, first_pos = -1;
    const char *lang;
    /* Static: --help, --version and every usage error exit from inside
     * the loop, and LeakSanitizer must still find the array from a root. */
    static char **pos;

    pos = calloc((size_t)argc + 1, sizeof *pos);

    cl_progname = invoked_name(p, argc, argv);
    lang = find_lang(argc, argv);
    cl_i18n_init(lang && (!strcmp(lang, "zh") || !strcmp(lang, "en")) ? lang : NULL);
    line_buffer_stdout();
    cl_trace_from_env();
    if (!pos)
        cl_fatal("%s", _("out of memory"));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const cl_option *o = NULL;
        const char *val = NULL;

        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                pos[npos++] = argv[i];
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(p);
            exit(0);
        }
        if (strncmp(a, "--lang", 6) == 0 && (!a[6] || a[6] == '=')) {
            const char *l = a[6] ? a + 7 : i + 1 < argc ? argv[++i] : "";
            if (strcmp(l, "zh") && strcmp(l, "en"))
                cl_usage_err(_("--lang wants zh or en, not '%s'"), l);
            continue; /* taken by find_lang, before anything was said */
        }
        if (strcmp(a, "--trace") == 0) {
            cl_trace_enable(true);
            continue;
        }
        if (strncmp(a, "--trace-file", 12) == 0 && (!a[12] || a[12] == '=')) {
            const char *f = a[12] ? a + 13 : i + 1 < argc ? argv[++i] : NULL, *err;
            if (!f || !*f)
                cl_usage_err("%s", _("--trace-file needs a value (FILE.json or FILE.svg)"));
            if ((err = cl_trace_file(f)))
                cl_usage_err("--trace-file %s", err);
            continue;
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("%s (corolab) %s\n", cl_progname, CL_VERSION);
            exit(0);
        }
        if (a[0] == '-' && a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = find_long(p, a + 2, len);
            if (!o)
                cl_usage_err(_("unknown option '%.*s'"), (int)len + 2, a);
            if (eq) {
                if (o->type == CL_OPT_FLAG)
                    cl_usage_err(_("--%s takes no value"), o->name);
                val = eq + 1;
            }
        } else if (a[0] == '-' && a[1] && !a[2]) {
            o = find_short(p, a[1]);
            if (!o)
                cl_usage_err(_("unknown option '%s'"), a);
        } else if (a[0] == '-' && a[1]) {
            cl_usage_err(_("unknown option '%s'"), a);
        } else {
            pos[npos++] = argv[i];
            continue;
        }
        if (o->type != CL_OPT_FLAG && !val) {
            if (i + 1 >= argc)
                cl_usage_err(_("--%s needs a value (%s)"), o->name,
                             o->arg_name ? o->arg_name : "VALUE");
            val = argv[++i];
        }
        take_value(o, val);
    }
    if (npos < p->min_args)
        cl_usage_err(_("missing argument%s%s"), p->args ? ": " : "",
                     p->args ? p->args : "");
    if (p->max_args >= 0 && npos > p->max_args)
        cl_usage_err(_("unexpected argument '%s'"), pos[p->max_args]);
    /* Put positionals last, in order, so callers index from the return. */
    first_pos = argc - npos;
    for (i = 0; i < npos; i++)
        argv[first_pos + i] = pos[i];
    free(pos);
    pos = NULL;
    return first_pos;
}

bool cl_color_enabled(void)
{
    static int on = -1;
    if (on < 0) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        on = isatty(STDOUT_FILENO) && !(nc && *nc) &&
             !(term && strcmp(term, "dumb") == 0);
    }
    return on;
}

const char *cl_color(enum cl_color c)
{
    static const char *const esc[] = {
        [CL_RESET] = "\033[0m", [CL_RED] = "\033[31;1m",
        [CL_GREEN] = "\033[32;1m", [CL_YELLOW] = "\033[33;1m",
        [CL_BLUE] = "\033[34;1m", [CL_DIM] = "\033[2m", [CL_BOLD] = "\033[1m",
    };
    return cl_color_enabled() ? esc[c] : "";
}

/* ---- stopping on SIGINT and SIGTERM ---- */

volatile sig_atomic_t cl_stop_signal;
static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig)
{
    int saved = errno;
    if (!cl_stop_signal)
        cl_stop_signal = sig;
    (void)!write(stop_pipe[1], "x", 1); /* never read: it stays readable */
    errno = saved;
}

int cl_stop_on_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};
    if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return stop_pipe[0];
}
