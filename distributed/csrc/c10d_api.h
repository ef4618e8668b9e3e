/* The C interface of the project's layer over libtorch's c10d (TCPStore, ProcessGroupGloo).
 *
 * Every function that can fail returns NULL on success, or an error message allocated with
 * malloc that the caller frees; no C++ exception crosses this interface. Tensors are passed as
 * at::Tensor pointers (gotch's Ctensor). Collectives must be called in the same order on every
 * rank, from one thread at a time per group. */
#ifndef SMOOTHL1_C10D_API_H
#define SMOOTHL1_C10D_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct c10d_store c10d_store;
typedef struct c10d_group c10d_group;

/* A TCPStore client of host:port, which also hosts the store when is_server is set (waiting for
 * no one). timeout_ms bounds the connection attempt and every later operation. */
char *c10d_store_open(const char *host, int port, int is_server, int64_t timeout_ms,
                      c10d_store **out);
void c10d_store_close(c10d_store *s);
char *c10d_store_set(c10d_store *s, const char *key, const void *val, size_t n);
/* *val is allocated with malloc (NULL when n is 0). The key must exist (see check). */
char *c10d_store_get(c10d_store *s, const char *key, void **val, size_t *n);
char *c10d_store_check(c10d_store *s, const char *key, int *found);
/* Waits until every key exists; an error when timeout_ms passes first. */
char *c10d_store_wait(c10d_store *s, const char *const *keys, int n, int64_t timeout_ms);

/* A Gloo process group of size ranks through the store s (under key prefix), with a device
 * bound to interface iface when not empty, else to the address hostname when not empty, else
 * to Gloo's default (this machine's host name, or the loopback address). */
char *c10d_group_new(c10d_store *s, const char *prefix, int rank, int size, const char *hostname,
                     const char *iface, int64_t timeout_ms, c10d_group **out);
/* Destroys the group; or abandons it when one of its collectives did not end (its destructor
 * would wait for it), leaving its threads and sockets to the end of the process. */
void c10d_group_free(c10d_group *g);

/* Replaces each tensor by its mean over the ranks: tensors are packed, consecutive ones of one
 * floating dtype together, into buffers of at most bucket_bytes (a larger tensor alone), one
 * all-reduce per buffer. */
char *c10d_allreduce_mean(c10d_group *g, void *const *tensors, int n, int64_t bucket_bytes);
/* Copies root's tensors into every rank's, packed as for c10d_allreduce_mean (any dtype). */
char *c10d_broadcast(c10d_group *g, void *const *tensors, int n, int root, int64_t bucket_bytes);
/* Gathers every rank's n int64 numbers: all (size*n entries) holds them in rank order. Every
 * collective of package distributed begins with this exchange of a fixed size, so that ranks
 * out of step are found here instead of in a collective whose sizes differ, which Gloo answers
 * by ending the process (an exception on its I/O thread). */
char *c10d_exchange(c10d_group *g, const int64_t *mine, int n, int64_t *all);
/* Gathers every rank's buffer of n bytes, padded to longest (the same on every rank): out
 * (size*longest bytes) holds them in rank order. */
char *c10d_allgather(c10d_group *g, const void *buf, int64_t n, int64_t longest, void *out);
/* Checks tensors as the collectives do (defined, on the CPU, and of a floating dtype when
 * floating_only is set) and returns a hash of their dtypes and shapes. */
char *c10d_layout(void *const *tensors, int n, int floating_only, int64_t *hash);

#ifdef __cplusplus
}
#endif

#endif
