/* Helpers shared by the cmocka tests that read the CSV tables in tests/data/reference.
   Include after <cmocka.h>. */
#pragma once
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CSV_MAXCOL = 16, CSV_MAXROW = 256 };

typedef struct {
  int    ncol, nrow;
  char   name[CSV_MAXCOL][96];
  double v[CSV_MAXROW][CSV_MAXCOL];
} Csv;

/* Comma-separated table with one header line; '#' lines are comments. */
static void CsvRead(const char *path, Csv *t)
{
  FILE *f = fopen(path, "r");
  char  line[4096];
  int   header = 0;

  if (!f) fail_msg("cannot open %s", path);
  t->ncol = t->nrow = 0;
  while (fgets(line, sizeof line, f)) {
    char *save = NULL, *tok;
    int   c    = 0;

    if (line[0] == '#' || line[0] == '\n') continue;
    line[strcspn(line, "\r\n")] = 0;
    if (!header) {
      for (tok = strtok_r(line, ",", &save); tok && c < CSV_MAXCOL; tok = strtok_r(NULL, ",", &save)) snprintf(t->name[c++], sizeof t->name[0], "%s", tok);
      t->ncol = c;
      header  = 1;
      continue;
    }
    if (t->nrow >= CSV_MAXROW) fail_msg("%s: more than %d rows", path, CSV_MAXROW);
    for (tok = strtok_r(line, ",", &save); tok && c < CSV_MAXCOL; tok = strtok_r(NULL, ",", &save)) {
      char *end;
      t->v[t->nrow][c++] = strtod(tok, &end);
      if (end == tok) fail_msg("%s: row %d column %d: not a number: %s", path, t->nrow + 1, c, tok);
    }
    if (c != t->ncol) fail_msg("%s: row %d has %d columns, header has %d", path, t->nrow + 1, c, t->ncol);
    t->nrow++;
  }
  fclose(f);
  if (!t->nrow) fail_msg("%s: no data rows", path);
}

static int CsvCol(const Csv *t, const char *name)
{
  for (int c = 0; c < t->ncol; c++)
    if (!strcmp(t->name[c], name)) return c;
  fail_msg("column %s not in the table", name);
  return -1;
}

/* |got - want| <= max(rtol |want|, atol); *maxrel collects |got - want|/|want|. */
static void CheckClose(const char *what, double got, double want, double rtol, double atol, double *maxrel)
{
  const double d = fabs(got - want);

  if (maxrel && want != 0.0) *maxrel = fmax(*maxrel, d / fabs(want));
  if (!(d <= fmax(rtol * fabs(want), atol))) fail_msg("%s: got %.12g, want %.12g (diff %.3g, rel %.3g)", what, got, want, d, want != 0.0 ? d / fabs(want) : d);
}
