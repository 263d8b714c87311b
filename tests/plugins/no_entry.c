/* SPDX-License-Identifier: Apache-2.0 */
/* A shared object that is not an hvabs plugin: no entry symbol. */
__attribute__((visibility("default"))) int some_library_function(int x);

int some_library_function(int x)
{
	return x + 1;
}
