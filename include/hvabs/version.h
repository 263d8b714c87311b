/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file version.h
 * @brief The version of the hvabs headers a program is compiled against.
 *
 * @defgroup version Version
 * @brief Compile-time version macros; hvabs_version() (vm.h) gives the
 * version of the libhvabs a program runs with.
 *
 * This header is the one place the version is written down: the build reads
 * it to set the project, library, pkg-config and CMake package versions.
 * Releases follow semantic versioning; while MAJOR is 0 a MINOR step may
 * change the API (see CHANGELOG.md).
 * @{
 */
#ifndef HVABS_VERSION_H
#define HVABS_VERSION_H

/** Major version: changes when the application API breaks. */
#define HVABS_VERSION_MAJOR 0
/** Minor version: new features, compatible within one major (past 0.x). */
#define HVABS_VERSION_MINOR 1
/** Patch version: fixes only. */
#define HVABS_VERSION_PATCH 0
/** Turns a macro's value into a string literal (helper of HVABS_VERSION_STRING). */
#define HVABS_VERSION_STR(x) HVABS_VERSION_STR_(x)
/** Helper of HVABS_VERSION_STR(): stringizes its argument as written. */
#define HVABS_VERSION_STR_(x) #x
/** The version as a string literal, "MAJOR.MINOR.PATCH", made from the three numbers. */
#define HVABS_VERSION_STRING                                                                       \
	HVABS_VERSION_STR(HVABS_VERSION_MAJOR)                                                     \
	"." HVABS_VERSION_STR(HVABS_VERSION_MINOR) "." HVABS_VERSION_STR(HVABS_VERSION_PATCH)

/**
 * One number that orders versions, for `#if` tests:
 * `#if HVABS_VERSION_NUMBER >= HVABS_VERSION_ENCODE(0, 2, 0)`.
 * @param major major version.
 * @param minor minor version (below 1000).
 * @param patch patch version (below 1000).
 */
#define HVABS_VERSION_ENCODE(major, minor, patch) ((major)*1000000 + (minor)*1000 + (patch))
/** This version, encoded by HVABS_VERSION_ENCODE(). */
#define HVABS_VERSION_NUMBER                                                                       \
	HVABS_VERSION_ENCODE(HVABS_VERSION_MAJOR, HVABS_VERSION_MINOR, HVABS_VERSION_PATCH)

/** @} */
#endif
