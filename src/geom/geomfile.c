/* CrystFEL .geom parser (crystfel_geometry(5); euxfel-format.md 3.2).
   Every rank parses the same text, so every check below is collective on g->comm. */
#include "geomimpl.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

#define MX_MAXDIMS 8
enum { DIM_UNSET = -4, DIM_PLACEHOLDER = -3, DIM_FS = -2, DIM_SS = -1 };

/* what a panel (or the defaults) has been given */
enum {
  HAVE_MIN_FS = 1 << 0,
  HAVE_MAX_FS = 1 << 1,
  HAVE_MIN_SS = 1 << 2,
  HAVE_MAX_SS = 1 << 3,
  HAVE_CX     = 1 << 4,
  HAVE_CY     = 1 << 5,
  HAVE_FS     = 1 << 6,
  HAVE_SS     = 1 << 7,
  HAVE_RES    = 1 << 8,
};
static const struct {
  unsigned    bit;
  const char *key;
} required[] = {
  {HAVE_MIN_FS, "min_fs"},
  {HAVE_MAX_FS, "max_fs"},
  {HAVE_MIN_SS, "min_ss"},
  {HAVE_MAX_SS, "max_ss"},
  {HAVE_CX,     "corner_x"},
  {HAVE_CY,     "corner_y"},
  {HAVE_FS,     "fs"},
  {HAVE_SS,     "ss"},
  {HAVE_RES,    "res"},
};

/* A panel as written in the file (data coordinates), before validation. */
typedef struct {
  char     name[64];
  int      line; /* where it is first mentioned */
  unsigned have;
  int      min_fs, max_fs, min_ss, max_ss;
  double   fs[3], ss[3], cx, cy, coffset, res;
  int      dims[MX_MAXDIMS];
  int      no_index, edge;
} PanelTmpl;

typedef struct {
  char   name[64];
  int    line;
  int    is_fsss; /* -1: no coordinate yet */
  int    have;    /* bits 0..3: min/max x/fs, min/max y/ss */
  double min_x, max_x, min_y, max_y;
  int    min_fs, max_fs, min_ss, max_ss;
  char   panel[64];
} BadTmpl;

typedef struct {
  MxGeom      g;
  MPI_Comm    comm;
  const char *path;
  int         line;
  PanelTmpl   defaults;
  PanelTmpl  *panels;
  PetscInt    n, cap;
  BadTmpl    *bad;
  PetscInt    nbad, capbad;
  int         pending_line; /* a global default not yet used by any panel */
  char        pending_key[64];
  int         clen_line, lambda_line;
  char        lambda_key[32];
} ParseCtx;

static int StartsWith(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static char *Trim(char *s)
{
  char *e;
  while (isspace((unsigned char)*s)) s++;
  e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
  return s;
}

static PetscErrorCode ParseReal(ParseCtx *c, const char *key, const char *val, double *out)
{
  char  *end;
  double v = strtod(val, &end);

  PetscFunctionBeginUser;
  PetscCheck(end != val && !*end && isfinite(v), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' is not a number", c->path, c->line, key, val);
  *out = v;
  PetscFunctionReturn(0);
}

/* Integers may be written as "0.0" (CrystFEL reads them with atof). */
static PetscErrorCode ParseInt(ParseCtx *c, const char *key, const char *val, int *out)
{
  double v;

  PetscFunctionBeginUser;
  PetscCall(ParseReal(c, key, val, &v));
  PetscCheck(v == floor(v) && fabs(v) < 1e9, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' is not an integer", c->path, c->line, key, val);
  *out = (int)v;
  PetscFunctionReturn(0);
}

/* "number [unit]": *isnum is false when val does not start with a number (then it may be a data
   file location such as /LCLS/detectorPosition). */
static void SplitUnit(const char *val, double *v, const char **unit, PetscBool *isnum)
{
  char *end;

  *v     = strtod(val, &end);
  *isnum = (end != val && isfinite(*v)) ? PETSC_TRUE : PETSC_FALSE;
  while (isspace((unsigned char)*end)) end++;
  *unit = end;
}

/* Whether the data location at the start of val (up to a blank) equals path. */
static int SameLocation(const char *path, const char *val)
{
  size_t n = strcspn(val, " \t");
  return path[0] && strlen(path) == n && !strncmp(path, val, n);
}

static PetscErrorCode SetFileDistance(ParseCtx *c, const char *key, const char *val)
{
  double      v;
  const char *unit;
  PetscBool   isnum;
  MxGeom      g = c->g;

  PetscFunctionBeginUser;
  SplitUnit(val, &v, &unit, &isnum);
  if (!isnum) {
    PetscCheck(val[0] == '/', c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' is neither a length [m|mm] nor an HDF5 location", c->path, c->line, key, val);
    PetscCheck(!c->clen_line || SameLocation(g->file_clen_path, val), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' contradicts the camera length given at line %d", c->path, c->line, key, val, c->clen_line);
    snprintf(g->file_clen_path, sizeof g->file_clen_path, "%.*s", (int)strcspn(val, " \t"), val);
    c->clen_line = c->line;
    PetscFunctionReturn(0);
  }
  if (!strcmp(unit, "mm")) v *= 1e-3;
  else PetscCheck(!unit[0] || !strcmp(unit, "m"), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s': the unit must be m or mm", c->path, c->line, key, val);
  PetscCheck(v > 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' is not a positive distance", c->path, c->line, key, val);
  PetscCheck(!c->clen_line || (!g->file_clen_path[0] && fabs(g->file_distance_m - v) <= 1e-12 * v), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' contradicts the camera length given at line %d", c->path, c->line, key, val, c->clen_line);
  g->file_distance_m = v;
  c->clen_line       = c->line;
  PetscFunctionReturn(0);
}

/* Relativistic electron wavelength for an accelerating voltage V (CrystFEL electron_voltage). */
static double ElectronWavelengthA(double V)
{
  const double h = 6.62607015e-34, m0 = 9.1093837015e-31, e = 1.602176634e-19, c = 299792458.0;
  return 1e10 * h / sqrt(2.0 * m0 * e * V * (1.0 + e * V / (2.0 * m0 * c * c)));
}

/* photon_energy [eV|keV], wavelength [m|A], electron_voltage [V|kV]: one beam description. */
static PetscErrorCode SetFileWavelength(ParseCtx *c, const char *key, const char *val)
{
  double      v, lambda = NAN;
  const char *unit;
  PetscBool   isnum;
  MxGeom      g = c->g;

  PetscFunctionBeginUser;
  SplitUnit(val, &v, &unit, &isnum);
  if (!isnum) {
    PetscCheck(val[0] == '/', c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' is neither a number with a unit nor an HDF5 location", c->path, c->line, key, val);
    PetscCheck(!c->lambda_line || SameLocation(g->file_energy_path, val), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' contradicts %s at line %d (give only one of photon_energy, wavelength, electron_voltage)", c->path, c->line, key, val, c->lambda_key, c->lambda_line);
    snprintf(g->file_energy_path, sizeof g->file_energy_path, "%.*s", (int)strcspn(val, " \t"), val);
  } else {
    if (!strcmp(key, "photon_energy")) {
      PetscCheck(!unit[0] || !strcmp(unit, "eV") || !strcmp(unit, "keV"), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: photon_energy = '%s': the unit must be eV or keV", c->path, c->line, val);
      if (v > 0) lambda = MX_HC_KEV_A / (!strcmp(unit, "keV") ? v : 1e-3 * v);
    } else if (!strcmp(key, "wavelength")) {
      PetscCheck(!strcmp(unit, "m") || !strcmp(unit, "A"), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: wavelength = '%s': give the unit, m or A", c->path, c->line, val);
      if (v > 0) lambda = !strcmp(unit, "m") ? 1e10 * v : v;
    } else {
      PetscCheck(!strcmp(unit, "V") || !strcmp(unit, "kV"), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: electron_voltage = '%s': give the unit, V or kV", c->path, c->line, val);
      if (v > 0) lambda = ElectronWavelengthA(!strcmp(unit, "kV") ? 1e3 * v : v);
    }
    PetscCheck(lambda > 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' must be positive", c->path, c->line, key, val);
    PetscCheck(!c->lambda_line || (!g->file_energy_path[0] && fabs(g->file_lambda_A - lambda) <= 1e-12 * lambda), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' contradicts %s at line %d (give only one of photon_energy, wavelength, electron_voltage)", c->path, c->line, key, val, c->lambda_key, c->lambda_line);
    g->file_lambda_A = lambda;
  }
  c->lambda_line = c->line;
  snprintf(c->lambda_key, sizeof c->lambda_key, "%s", key);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetDetectorShift(ParseCtx *c, const char *key, const char *val, double *shift)
{
  double      v;
  const char *unit;
  PetscBool   isnum;

  PetscFunctionBeginUser;
  SplitUnit(val, &v, &unit, &isnum);
  if (!isnum) {
    /* a per-frame location: not usable for a fixed q-map */
    PetscCheck(val[0] == '/', c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' is neither a length [m|mm] nor an HDF5 location", c->path, c->line, key, val);
    PetscCall(PetscInfo(NULL, "%s:%d: %s is the data location %s; not applied\n", c->path, c->line, key, val));
    PetscFunctionReturn(0);
  }
  if (!strcmp(unit, "mm")) v *= 1e-3;
  else PetscCheck(!unit[0] || !strcmp(unit, "m"), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s': the unit must be m or mm", c->path, c->line, key, val);
  *shift = v;
  PetscFunctionReturn(0);
}

static PetscErrorCode ParseDim(ParseCtx *c, PanelTmpl *t, const char *key, const char *val)
{
  char         *end;
  unsigned long n = strtoul(key + 3, &end, 10);

  PetscFunctionBeginUser;
  PetscCheck(key[3] && isdigit((unsigned char)key[3]) && !*end, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: unknown key '%s' (dim must be followed by a number, e.g. dim0)", c->path, c->line, key);
  PetscCheck(n < MX_MAXDIMS, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s: at most %d data dimensions are supported", c->path, c->line, key, MX_MAXDIMS);
  if (!strcmp(val, "ss")) t->dims[n] = DIM_SS;
  else if (!strcmp(val, "fs")) t->dims[n] = DIM_FS;
  else if (!strcmp(val, "%")) t->dims[n] = DIM_PLACEHOLDER;
  else {
    unsigned long v = strtoul(val, &end, 10);
    PetscCheck(isdigit((unsigned char)val[0]) && !*end && v < 1000000, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' must be ss, fs, %% or an index", c->path, c->line, key, val);
    t->dims[n] = (int)v;
  }
  PetscFunctionReturn(0);
}

/* Keys valid for a panel, or at top level as defaults for panels mentioned later
   (crystfel_geometry(5) and the legacy keys of CrystFEL <= 0.9). */
static PetscErrorCode ParsePanelField(ParseCtx *c, PanelTmpl *t, const char *key, const char *val)
{
  double d;
  double v[3];

  PetscFunctionBeginUser;
  if (!strcmp(key, "min_fs")) {
    PetscCall(ParseInt(c, key, val, &t->min_fs));
    t->have |= HAVE_MIN_FS;
  } else if (!strcmp(key, "max_fs")) {
    PetscCall(ParseInt(c, key, val, &t->max_fs));
    t->have |= HAVE_MAX_FS;
  } else if (!strcmp(key, "min_ss")) {
    PetscCall(ParseInt(c, key, val, &t->min_ss));
    t->have |= HAVE_MIN_SS;
  } else if (!strcmp(key, "max_ss")) {
    PetscCall(ParseInt(c, key, val, &t->max_ss));
    t->have |= HAVE_MAX_SS;
  } else if (!strcmp(key, "corner_x")) {
    PetscCall(ParseReal(c, key, val, &t->cx));
    t->have |= HAVE_CX;
  } else if (!strcmp(key, "corner_y")) {
    PetscCall(ParseReal(c, key, val, &t->cy));
    t->have |= HAVE_CY;
  } else if (!strcmp(key, "fs") || !strcmp(key, "ss") || !strcmp(key, "rail_direction")) {
    PetscCheck(!MxGeomParseVector(val, v), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s = '%s' is not a vector like '+0.999995x -0.001328y'", c->path, c->line, key, val);
    if (key[0] == 'f') {
      PetscCall(PetscArraycpy(t->fs, v, 3));
      t->have |= HAVE_FS;
    } else if (key[0] == 's') {
      PetscCall(PetscArraycpy(t->ss, v, 3));
      t->have |= HAVE_SS;
    } /* rail_direction only matters when clen moves the detector along a rail: not here */
  } else if (!strcmp(key, "coffset")) {
    PetscCall(ParseReal(c, key, val, &t->coffset));
  } else if (!strcmp(key, "res")) {
    PetscCall(ParseReal(c, key, val, &t->res));
    PetscCheck(t->res > 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: res = '%s' must be positive (pixels per metre)", c->path, c->line, val);
    t->have |= HAVE_RES;
  } else if (!strcmp(key, "clen")) { /* per panel in CrystFEL <= 0.9: must agree across panels */
    PetscCall(SetFileDistance(c, key, val));
  } else if (!strcmp(key, "photon_energy")) {
    PetscCall(SetFileWavelength(c, key, val));
  } else if (!strncmp(key, "dim", 3)) {
    PetscCall(ParseDim(c, t, key, val));
  } else if (!strcmp(key, "no_index")) {
    if (!strcasecmp(val, "true")) t->no_index = 1;
    else if (!strcasecmp(val, "false")) t->no_index = 0;
    else {
      int b;
      PetscCall(ParseInt(c, key, val, &b));
      t->no_index = b != 0;
    }
  } else if (!strcmp(key, "mask_edge_pixels")) {
    PetscCall(ParseInt(c, key, val, &t->edge));
    PetscCheck(t->edge >= 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: mask_edge_pixels = '%s' must be >= 0", c->path, c->line, val);
  } else if (!strcmp(key, "adu_per_eV") || !strcmp(key, "adu_per_photon") || !strcmp(key, "max_adu") || !strcmp(key, "flag_equal") || !strcmp(key, "flag_lessthan") || !strcmp(key, "flag_morethan") || !strcmp(key, "clen_for_centering") || !strcmp(key, "mask_good") || !strcmp(key, "mask_bad")) {
    PetscCall(ParseReal(c, key, val, &d)); /* detector response and data masks: not needed for q */
  } else if (!strcmp(key, "data") || !strcmp(key, "mask") || !strcmp(key, "mask_file") || !strcmp(key, "saturation_map") || !strcmp(key, "saturation_map_file") || !strcmp(key, "badrow_direction") || !strcmp(key, "rigid_group")) {
    /* data locations and legacy fields: accepted, not needed for q */
  } else if (!strncmp(key, "mask", 4) && isdigit((unsigned char)key[4]) && key[5] == '_') {
    const char *f = key + 6;
    PetscCheck(key[4] <= '7', c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s: mask numbers run from 0 to 7", c->path, c->line, key);
    if (!strcmp(f, "goodbits") || !strcmp(f, "badbits")) PetscCall(ParseReal(c, key, val, &d));
    else PetscCheck(!strcmp(f, "data") || !strcmp(f, "file"), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: unknown key '%s'", c->path, c->line, key);
  } else SETERRQ(c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: unknown key '%s'%s%s (not a CrystFEL geometry key)", c->path, c->line, key, t == &c->defaults ? "" : " for panel ", t == &c->defaults ? "" : t->name);
  PetscFunctionReturn(0);
}

static PetscErrorCode ParseTopLevel(ParseCtx *c, const char *key, const char *val)
{
  double d;

  PetscFunctionBeginUser;
  if (!strcmp(key, "clen")) PetscCall(SetFileDistance(c, key, val));
  else if (!strcmp(key, "photon_energy") || !strcmp(key, "wavelength") || !strcmp(key, "electron_voltage")) PetscCall(SetFileWavelength(c, key, val));
  else if (!strcmp(key, "detector_shift_x")) PetscCall(SetDetectorShift(c, key, val, &c->g->shift_x_m));
  else if (!strcmp(key, "detector_shift_y")) PetscCall(SetDetectorShift(c, key, val, &c->g->shift_y_m));
  else if (!strcmp(key, "bandwidth") || !strcmp(key, "photon_energy_bandwidth") || !strcmp(key, "photon_energy_scale")) PetscCall(ParseReal(c, key, val, &d));
  else if (!strcmp(key, "peak_list")) {
  } else if (!strcmp(key, "peak_list_type")) {
    PetscCheck(!strcmp(val, "auto") || !strcmp(val, "cxi") || !strcmp(val, "list3"), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: peak_list_type = '%s' must be auto, cxi or list3", c->path, c->line, val);
  } else if (StartsWith(key, "rigid_group") || StartsWith(key, "group_")) {
    /* panel hierarchy for geometry refinement: not needed for q */
  } else {
    PetscCall(ParsePanelField(c, &c->defaults, key, val));
    if (!c->pending_line) {
      c->pending_line = c->line;
      snprintf(c->pending_key, sizeof c->pending_key, "%s", key);
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode ParseBadField(ParseCtx *c, const char *name, const char *key, const char *val)
{
  BadTmpl *b = NULL;
  int      fsss = -1, bit = 0;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < c->nbad; i++)
    if (!strcmp(c->bad[i].name, name)) b = &c->bad[i];
  if (!b) {
    PetscCheck(strlen(name) < sizeof b->name, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: bad region name '%s' is too long", c->path, c->line, name);
    if (c->nbad == c->capbad) {
      BadTmpl *nb;
      c->capbad = c->capbad ? 2 * c->capbad : 16;
      PetscCall(PetscCalloc1(c->capbad, &nb));
      if (c->nbad) PetscCall(PetscArraycpy(nb, c->bad, c->nbad));
      PetscCall(PetscFree(c->bad));
      c->bad = nb;
    }
    b = &c->bad[c->nbad++];
    snprintf(b->name, sizeof b->name, "%s", name);
    b->line    = c->line;
    b->is_fsss = -1;
  }
  if (!strcmp(key, "panel")) {
    PetscCheck(strlen(val) < sizeof b->panel, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: panel name '%s' is too long", c->path, c->line, val);
    snprintf(b->panel, sizeof b->panel, "%s", val);
    PetscFunctionReturn(0);
  }
  {
    static const char *keys[8] = {"min_x", "max_x", "min_y", "max_y", "min_fs", "max_fs", "min_ss", "max_ss"};
    double            *dx[4]   = {&b->min_x, &b->max_x, &b->min_y, &b->max_y};
    int               *di[4]   = {&b->min_fs, &b->max_fs, &b->min_ss, &b->max_ss};
    int                k;
    for (k = 0; k < 8; k++)
      if (!strcmp(key, keys[k])) break;
    PetscCheck(k < 8, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: unknown key '%s' for bad region %s", c->path, c->line, key, name);
    fsss = k >= 4;
    bit  = 1 << (k % 4);
    if (fsss) PetscCall(ParseInt(c, key, val, di[k % 4]));
    else PetscCall(ParseReal(c, key, val, dx[k % 4]));
  }
  PetscCheck(b->is_fsss < 0 || b->is_fsss == fsss, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: bad region %s mixes x/y and fs/ss coordinates", c->path, c->line, name);
  b->is_fsss = fsss;
  b->have |= bit;
  PetscFunctionReturn(0);
}

static PetscErrorCode FindOrAddPanel(ParseCtx *c, const char *name, PanelTmpl **t)
{
  PetscFunctionBeginUser;
  for (PetscInt i = c->n - 1; i >= 0; i--)
    if (!strcmp(c->panels[i].name, name)) {
      *t = &c->panels[i];
      PetscFunctionReturn(0);
    }
  PetscCheck(!StartsWith(name, "group") && !StartsWith(name, "rigid_group"), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: '%s' is not a panel name: names starting with group or rigid_group are reserved", c->path, c->line, name);
  PetscCheck(strlen(name) < sizeof c->defaults.name, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: panel name '%s' is too long", c->path, c->line, name);
  if (c->n == c->cap) {
    PanelTmpl *np;
    c->cap = c->cap ? 2 * c->cap : 128;
    PetscCall(PetscMalloc1(c->cap, &np));
    if (c->n) PetscCall(PetscArraycpy(np, c->panels, c->n));
    PetscCall(PetscFree(c->panels));
    c->panels = np;
  }
  *t = &c->panels[c->n++];
  **t = c->defaults; /* CrystFEL: globals apply to panels first mentioned after them */
  snprintf((*t)->name, sizeof (*t)->name, "%s", name);
  (*t)->line      = c->line;
  c->pending_line = 0;
  PetscFunctionReturn(0);
}

static PetscErrorCode ParseLines(ParseCtx *c, char *text)
{
  char *s = text;

  PetscFunctionBeginUser;
  for (char *p = text; *p; p++)
    if (*p == '\r') *p = '\n';
  c->line = 0;
  while (s) {
    char *nl = strchr(s, '\n'), *line = s, *eq, *key, *val, *slash;
    if (nl) *nl = 0;
    s = nl ? nl + 1 : NULL;
    c->line++;
    if ((eq = strchr(line, ';'))) *eq = 0;
    line = Trim(line);
    if (!*line) continue;
    eq = strchr(line, '=');
    PetscCheck(eq, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: expected 'key = value', got '%s'", c->path, c->line, line);
    *eq = 0;
    key = Trim(line);
    val = Trim(eq + 1);
    PetscCheck(*key, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: a line with no key", c->path, c->line);
    PetscCheck(*val, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: %s has no value", c->path, c->line, key);
    slash = strchr(key, '/');
    if (!slash) {
      PetscCall(ParseTopLevel(c, key, val));
      continue;
    }
    *slash = 0;
    PetscCheck(*key, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: '/%s' has no panel name", c->path, c->line, slash + 1);
    if (StartsWith(key, "bad")) PetscCall(ParseBadField(c, key, slash + 1, val));
    else {
      PanelTmpl *t = NULL;
      PetscCall(FindOrAddPanel(c, key, &t));
      PetscCall(ParsePanelField(c, t, slash + 1, val));
    }
  }
  PetscFunctionReturn(0);
}

/* Check a panel's keys and data layout; module and module-local ss into p. */
static PetscErrorCode ValidatePanel(ParseCtx *c, const PanelTmpl *t, int *is2d, MxPanel *p)
{
  int nd = 0, iss = -1, ifs = -1, nph = 0, nnum = 0, module = -1, idx = -1;

  PetscFunctionBeginUser;
  for (size_t k = 0; k < sizeof required / sizeof required[0]; k++) PetscCheck(t->have & required[k].bit, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d) has no %s", c->path, t->name, t->line, required[k].key);
  for (int k = 0; k < MX_MAXDIMS; k++)
    if (t->dims[k] != DIM_UNSET) nd = k + 1;
  for (int k = 0; k < nd; k++) {
    PetscCheck(t->dims[k] != DIM_UNSET, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): dim%d is not given but dim%d is", c->path, t->name, t->line, k, nd - 1);
    if (t->dims[k] == DIM_SS) {
      PetscCheck(iss < 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): two dimensions are ss", c->path, t->name, t->line);
      iss = k;
    } else if (t->dims[k] == DIM_FS) {
      PetscCheck(ifs < 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): two dimensions are fs", c->path, t->name, t->line);
      ifs = k;
    } else if (t->dims[k] == DIM_PLACEHOLDER) nph++;
    else nnum++, module = t->dims[k], idx = k;
  }
  if (!nd) iss = 0, ifs = 1; /* CrystFEL default: dim0 = ss, dim1 = fs */
  PetscCheck(iss >= 0 && ifs >= 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d) needs one dimension each for ss and fs", c->path, t->name, t->line);
  PetscCheck(iss < ifs, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): the fs dimension must come after the ss dimension", c->path, t->name, t->line);
  PetscCheck(nph <= 1, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): more than one %% (frame) dimension", c->path, t->name, t->line);
  PetscCheck(nnum <= 1, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): more than one fixed-index dimension; expected (frame, module, ss, fs) or (frame, ss, fs)", c->path, t->name, t->line);
  PetscCheck(*is2d < 0 || *is2d == (nnum == 0), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d) uses a %s layout, earlier panels the other one", c->path, t->name, t->line, nnum ? "3-D (module index)" : "2-D (modules stacked along ss)");
  *is2d = nnum == 0;
  PetscCheck(t->min_fs >= 0 && t->min_fs <= t->max_fs && t->max_fs < MX_NFS, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): fs range %d..%d is not inside 0..%d", c->path, t->name, t->line, t->min_fs, t->max_fs, MX_NFS - 1);
  PetscCheck(t->min_ss >= 0 && t->min_ss <= t->max_ss, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): ss range %d..%d is empty or negative", c->path, t->name, t->line, t->min_ss, t->max_ss);
  if (nnum) {
    PetscCheck(module < MX_NMOD, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): dim%d = %d is not an AGIPD module 0..%d", c->path, t->name, t->line, idx, module, MX_NMOD - 1);
    PetscCheck(t->max_ss < MX_NSS, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): ss range %d..%d is not inside 0..%d", c->path, t->name, t->line, t->min_ss, t->max_ss, MX_NSS - 1);
  } else {
    module = t->min_ss / MX_NSS;
    PetscCheck(module < MX_NMOD && t->max_ss / MX_NSS == module, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): ss range %d..%d of a 2-D layout must lie inside one module's rows 512 m..512 m + 511 (m < %d)", c->path, t->name, t->line, t->min_ss, t->max_ss, MX_NMOD);
  }
  PetscCheck(t->fs[0] != 0 || t->fs[1] != 0 || t->fs[2] != 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): fs is the zero vector", c->path, t->name, t->line);
  PetscCheck(t->ss[0] != 0 || t->ss[1] != 0 || t->ss[2] != 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panel %s (line %d): ss is the zero vector", c->path, t->name, t->line);

  PetscCall(PetscMemzero(p, sizeof *p));
  snprintf(p->name, sizeof p->name, "%s", t->name);
  p->module = module;
  p->min_fs = t->min_fs;
  p->max_fs = t->max_fs;
  p->min_ss = t->min_ss - (nnum ? 0 : MX_NSS * module);
  p->max_ss = t->max_ss - (nnum ? 0 : MX_NSS * module);
  PetscCall(PetscArraycpy(p->fs, t->fs, 3));
  PetscCall(PetscArraycpy(p->ss, t->ss, 3));
  p->corner_x         = t->cx;
  p->corner_y         = t->cy;
  p->coffset_m        = t->coffset;
  p->res              = t->res;
  p->no_index         = t->no_index;
  p->mask_edge_pixels = t->edge;
  PetscFunctionReturn(0);
}

/* Every pixel of a module that has panels must be covered exactly once. */
static PetscErrorCode CheckCoverage(ParseCtx *c, PetscInt n, const MxPanel *pan)
{
  int *owner;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc1((size_t)MX_NMOD * MX_MODPIX, &owner));
  for (PetscInt i = 0; i < n; i++) {
    const MxPanel *p = &pan[i];
    for (int ss = p->min_ss; ss <= p->max_ss; ss++)
      for (int fs = p->min_fs; fs <= p->max_fs; fs++) {
        int *o = &owner[((size_t)p->module * MX_NSS + ss) * MX_NFS + fs];
        if (*o) {
          const char *other = pan[*o - 1].name;
          PetscCall(PetscFree(owner));
          SETERRQ(c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: panels %s and %s overlap at module %d ss %d fs %d", c->path, other, p->name, p->module, ss, fs);
        }
        *o = (int)i + 1;
      }
  }
  for (int m = 0; m < MX_NMOD; m++) {
    const int *om = owner + (size_t)m * MX_MODPIX;
    int        any = 0, first = -1, last = -1;
    for (int k = 0; k < MX_MODPIX; k++) {
      if (om[k] && !any) any = om[k];
      if (!om[k]) {
        if (first < 0) first = k / MX_NFS;
        last = k / MX_NFS;
      }
    }
    if (any && first >= 0) {
      const char *name = pan[any - 1].name;
      PetscCall(PetscFree(owner));
      SETERRQ(c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: module %d (panel %s, ...) has uncovered pixels in rows ss %d..%d: a panel is missing or incomplete", c->path, m, name, first, last);
    }
  }
  PetscCall(PetscFree(owner));
  PetscFunctionReturn(0);
}

static PetscErrorCode Finish(ParseCtx *c)
{
  MxGeom   g    = c->g;
  int      is2d = -1;
  MxPanel *pan;

  PetscFunctionBeginUser;
  PetscCheck(c->n > 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: no panels in the geometry file", c->path);
  PetscCheck(!c->pending_line, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s:%d: global '%s' comes after the last panel and has no effect (a global value applies to panels first mentioned after it)", c->path, c->pending_line, c->pending_key);
  PetscCall(PetscMalloc1(c->n, &pan));
  for (PetscInt i = 0; i < c->n; i++) {
    PetscErrorCode ierr = ValidatePanel(c, &c->panels[i], &is2d, &pan[i]);
    if (ierr) {
      PetscCall(PetscFree(pan));
      PetscCall(ierr);
    }
  }
  {
    PetscErrorCode ierr = CheckCoverage(c, c->n, pan);
    if (ierr) {
      PetscCall(PetscFree(pan));
      PetscCall(ierr);
    }
  }
  g->npanels  = c->n;
  g->panels   = pan;
  g->layout2d = is2d == 1 ? PETSC_TRUE : PETSC_FALSE;

  PetscCall(PetscCalloc1(c->nbad ? c->nbad : 1, &g->bad));
  for (PetscInt i = 0; i < c->nbad; i++) {
    const BadTmpl *b = &c->bad[i];
    MxBadRegion   *r = &g->bad[i];
    PetscCheck(b->is_fsss >= 0 && b->have == 15, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: bad region %s (line %d) needs min_x, max_x, min_y, max_y or min_fs, max_fs, min_ss, max_ss", c->path, b->name, b->line);
    snprintf(r->name, sizeof r->name, "%s", b->name);
    r->is_fsss = b->is_fsss;
    r->min_x   = b->min_x;
    r->max_x   = b->max_x;
    r->min_y   = b->min_y;
    r->max_y   = b->max_y;
    r->min_fs  = b->min_fs;
    r->max_fs  = b->max_fs;
    r->min_ss  = b->min_ss;
    r->max_ss  = b->max_ss;
    r->panel   = -1;
    if (b->panel[0]) {
      for (PetscInt k = 0; k < c->n; k++)
        if (!strcmp(pan[k].name, b->panel)) r->panel = (int)k;
      PetscCheck(r->panel >= 0, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: bad region %s (line %d) names panel '%s', which does not exist", c->path, b->name, b->line, b->panel);
    }
    g->nbad++;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomParseText(MxGeom g, const char path[], const char *text)
{
  ParseCtx       c;
  char          *copy;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&c, sizeof c));
  c.g    = g;
  c.comm = g->comm;
  c.path = path;
  for (int k = 0; k < MX_MAXDIMS; k++) c.defaults.dims[k] = DIM_UNSET;
  PetscCall(PetscStrallocpy(text, &copy));
  ierr = ParseLines(&c, copy);
  if (!ierr) ierr = Finish(&c);
  PetscCall(PetscFree(copy));
  PetscCall(PetscFree(c.panels));
  PetscCall(PetscFree(c.bad));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
