/*
 * test_trace.c - the trace written to a file (--trace-file): the format
 * comes from the name, a bad name is refused with a reason, the JSON has
 * one track per greenlet and its slices in switch order, the SVG one lane
 * per greenlet with the phases and a legend, and past what fits it draws
 * the first and last lanes and counts the rest. No timing is asserted.
 */
#include "testutil.h"
#include "greenlet.h"
#include "trace.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_trace.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long len;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)len, f), len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (; (s = strstr(s, what)); s += strlen(what))
        n++;
    return n;
}

/* 02's dance: main starts a, a starts b, b switches to a, a to b, b ends
 * (back to main, its parent). */
static greenlet *ga, *gb;

static void *run_a(void *arg, void *v)
{
    (void)arg;
    greenlet_switch(gb, NULL);
    greenlet_switch(gb, NULL);
    return v;
}

static void *run_b(void *arg, void *v)
{
    (void)arg;
    greenlet_switch(ga, NULL);
    return v;
}

static void dance(void)
{
    greenlet_opts oa = {.name = "gr-a"}, ob = {.name = "gr-b"};
    ga = greenlet_new_opts(run_a, NULL, NULL, &oa);
    gb = greenlet_new_opts(run_b, NULL, NULL, &ob);
    ck_assert_ptr_nonnull(ga);
    ck_assert_ptr_nonnull(gb);
    greenlet_switch(ga, NULL);
    /* b ended into main; a is suspended in its second switch */
    greenlet_free(ga);
    greenlet_free(gb);
}

START_TEST(off_unless_asked)
{
    ck_assert(!cl_trace_on);
    ck_assert_ptr_null(greenlet_hook_);
}
END_TEST

START_TEST(bad_names_refused_with_a_reason)
{
    const char *err = cl_trace_file("/tmp/trace.txt");
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, ".json"));
    ck_assert_ptr_nonnull(strstr(err, ".svg"));
    err = cl_trace_file("/nonexistent-dir/trace.json");
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
    ck_assert(!cl_trace_on); /* nothing turned on by a refusal */
    ck_assert_ptr_null(greenlet_hook_);
}
END_TEST

/* The tid of each "running" slice, in file order (one event a line). */
static size_t slice_tids(const char *json, unsigned *tids, size_t max)
{
    size_t n = 0;
    const char *l;
    for (l = json; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        const char *tid = strstr(l, "\"tid\":"), *eol = strchr(l, '\n');
        if (strncmp(l, "{\"ph\":\"X\"", 9) != 0 || !tid || (eol && tid > eol))
            continue;
        ck_assert_uint_lt(n, max);
        tids[n++] = (unsigned)strtoul(tid + 6, NULL, 10);
    }
    return n;
}

/* The tid of the track named name. */
static unsigned track(const char *json, const char *name)
{
    char want[64];
    const char *p;
    snprintf(want, sizeof want, "\"args\":{\"name\":\"%s\"}", name);
    p = strstr(json, want);
    ck_assert_msg(p != NULL, "no track named %s", name);
    while (p > json && strncmp(p, "\"tid\":", 6) != 0)
        p--;
    return (unsigned)strtoul(p + 6, NULL, 10);
}

START_TEST(json_tracks_and_slices_in_switch_order)
{
    char path[128];
    char *json;
    unsigned tids[16], m, a, b;
    size_t n;

    make_dir();
    snprintf(path, sizeof path, "%s/t.json", dir);
    ck_assert_ptr_null(cl_trace_file(path));
    ck_assert(cl_trace_on);
    dance();
    cl_trace_file_close();
    ck_assert_ptr_null(greenlet_hook_); /* off again */
    json = slurp(path);
    ck_assert_ptr_nonnull(strstr(json, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":["));
    ck_assert_ptr_nonnull(strstr(json, "\n]}\n"));
    m = track(json, "main");
    a = track(json, "gr-a");
    b = track(json, "gr-b");
    ck_assert(m != a && a != b && m != b);
    /* main runs, then a, b, a, b; then main again until the file ends */
    n = slice_tids(json, tids, 16);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(tids[0], m);
    ck_assert_uint_eq(tids[1], a);
    ck_assert_uint_eq(tids[2], b);
    ck_assert_uint_eq(tids[3], a);
    ck_assert_uint_eq(tids[4], b);
    ck_assert_uint_eq(tids[5], m);
    /* five switches: five flow arrows out and five in, and b's end */
    ck_assert_uint_eq(count(json, "{\"ph\":\"s\""), 5);
    ck_assert_uint_eq(count(json, "{\"ph\":\"f\""), 5);
    ck_assert_uint_eq(count(json, "\"name\":\"end\""), 1);
    free(json);
    remove_dir();
}
END_TEST

START_TEST(svg_lanes_phases_legend)
{
    char path[128];
    char *svg;

    make_dir();
    snprintf(path, sizeof path, "%s/t.svg", dir);
    ck_assert_ptr_null(cl_trace_file(path));
    cl_trace_phase("the dance");
    dance();
    cl_trace_file_close();
    svg = slurp(path);
    ck_assert_ptr_nonnull(strstr(svg, "<?xml"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
    ck_assert_ptr_nonnull(strstr(svg, "data-lanes=\"3\""));
    ck_assert_uint_eq(count(svg, "<g class=\"lane\""), 3);
    ck_assert_ptr_nonnull(strstr(svg, ">main</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">gr-a</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">gr-b</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "class=\"phase\" data-name=\"the dance\""));
    ck_assert_ptr_nonnull(strstr(svg, "<g class=\"legend\">"));
    ck_assert_ptr_nonnull(strstr(svg, "class=\"run\""));
    ck_assert_ptr_nonnull(strstr(svg, "class=\"done\"")); /* b finished */
    ck_assert_ptr_null(strstr(svg, "not drawn"));
    free(svg);
    remove_dir();
}
END_TEST

static void *just_return(void *arg, void *v)
{
    (void)arg;
    return v;
}

START_TEST(svg_many_lanes_first_last_and_a_count)
{
    enum { N = 300 };
    char path[128], want[128];
    char *svg;

    make_dir();
    snprintf(path, sizeof path, "%s/t.html", dir);
    ck_assert_ptr_null(cl_trace_file(path));
    for (int i = 0; i < N; i++) {
        greenlet *g = greenlet_new(just_return, NULL, NULL);
        ck_assert_ptr_nonnull(g);
        greenlet_switch(g, NULL);
        greenlet_free(g);
    }
    cl_trace_file_close();
    svg = slurp(path);
    ck_assert_ptr_nonnull(strstr(svg, "<!DOCTYPE html>"));
    ck_assert_ptr_nonnull(strstr(svg, "</body></html>"));
    /* main and N greenlets; the first 128 and the last 128 drawn */
    ck_assert_ptr_nonnull(strstr(svg, "data-lanes=\"301\""));
    ck_assert_uint_eq(count(svg, "<g class=\"lane\""), 256);
    snprintf(want, sizeof want, "%d more greenlets not drawn (lanes 129 to %d)",
             N + 1 - 256, N + 1 - 128);
    ck_assert_msg(strstr(svg, want) != NULL, "no '%s'", want);
    ck_assert_ptr_nonnull(strstr(svg, "data-lane=\"128\""));
    ck_assert_ptr_null(strstr(svg, "data-lane=\"129\""));
    ck_assert_ptr_nonnull(strstr(svg, "data-lane=\"301\""));
    free(svg);
    remove_dir();
}
END_TEST

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("file");
    tcase_add_test(tc, off_unless_asked);
    tcase_add_test(tc, bad_names_refused_with_a_reason);
    tcase_add_test(tc, json_tracks_and_slices_in_switch_order);
    tcase_add_test(tc, svg_lanes_phases_legend);
    tcase_add_test(tc, svg_many_lanes_first_last_and_a_count);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(trace_suite)
