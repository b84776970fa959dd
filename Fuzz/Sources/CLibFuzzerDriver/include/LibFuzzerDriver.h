#ifndef CROSSSIM_LIBFUZZER_DRIVER_H
#define CROSSSIM_LIBFUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver for programs with their own main (libFuzzer ≥ 12): parses libFuzzer's
/// flags from argv and fuzzes `callback`. Linked from libclang_rt.fuzzer by -sanitize=fuzzer.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
