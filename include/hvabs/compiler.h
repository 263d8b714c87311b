/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file compiler.h
 * @brief The only place hvabs uses compiler-specific attributes.
 *
 * @defgroup compiler Compiler attributes
 * @brief Visibility, must-check and printf-format annotations.
 * @{
 */
#ifndef HVABS_COMPILER_H
#define HVABS_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
/** Marks a symbol as part of the public libhvabs interface (everything else is hidden). */
#define HVABS_API __attribute__((visibility("default")))
/** The caller must look at the result: it is 0 or a negative errno. */
#define HVABS_MUST_CHECK __attribute__((warn_unused_result))
/** printf-style format checking: argument @p f is the format, @p a the first vararg. */
#define HVABS_PRINTF(f, a) __attribute__((format(printf, f, a)))
/** Marks the one symbol a backend plugin exports. */
#define HVABS_BACKEND_EXPORT __attribute__((visibility("default")))
#else
#define HVABS_API
#define HVABS_MUST_CHECK
#define HVABS_PRINTF(f, a)
#define HVABS_BACKEND_EXPORT
#endif

/** @} */
#endif
