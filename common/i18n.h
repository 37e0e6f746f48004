/*
 * i18n.h - GNU gettext for every message a student reads (issue 15).
 *
 * _("text") translates now; N_("text") only marks a string that is kept in
 * a table (an option's help) and translated where it is printed. The
 * catalogue is common/po/zh_CN.po (make update-po refreshes the template).
 * cl_parse_args() calls cl_i18n_init() first thing, so every lesson speaks
 * the language of LANGUAGE/LC_ALL/LANG, or the one --lang zh|en forces.
 */
#ifndef CL_I18N_H
#define CL_I18N_H

#include <libintl.h>

#define CL_TEXTDOMAIN "corolab"
#define _(s) gettext(s)
#define N_(s) s

/* setlocale, bindtextdomain, textdomain. lang is "zh", "en" (from --lang)
 * or NULL (the environment decides). "zh" works where zh_CN.UTF-8 is not
 * generated: it falls back to C.UTF-8 with LANGUAGE=zh_CN, which glibc's
 * gettext honours (it ignores LANGUAGE only in the plain "C" locale).
 * LC_NUMERIC stays "C": the course's numbers keep their decimal point. */
void cl_i18n_init(const char *lang);

/* The columns text takes on a terminal: a CJK character takes two. */
int cl_text_width(const char *s);

#endif
