/* braid_version.h - the one place the version of braid is written.
 *
 * meson.build reads the three numbers below to set the project version, the
 * shared library's SONAME and the pkg-config version; nothing else states it.
 */
#ifndef BRAID_VERSION_H
#define BRAID_VERSION_H

#define BRAID_VERSION_MAJOR 0
#define BRAID_VERSION_MINOR 1
#define BRAID_VERSION_PATCH 0

#define BRAID_VERSION_STRING "0.1.0"

#endif
