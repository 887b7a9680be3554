/* Shared by the cmocka tests that check error messages (MxErrorInstall handler).
   Include after <cmocka.h> and <mxpcs/sys.h>. */
#pragma once
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Expect an error whose message contains all needles (NULL-terminated). */
static void ExpectError(PetscErrorCode ierr, ...)
{
  char        msg[2048];
  const char *needle;
  va_list     ap;

  snprintf(msg, sizeof msg, "%s", MxErrorMessage(NULL));
  MxErrorClear(); /* before any failure: the handler keeps only the first message */
  if (!ierr) fail_msg("expected an error, got success");
  va_start(ap, ierr);
  while ((needle = va_arg(ap, const char *)))
    if (!strstr(msg, needle)) fail_msg("error message '%s' does not name '%s'", msg, needle);
  va_end(ap);
}
