// The project's layer over libtorch's c10d: a TCPStore and a Gloo process group behind a C
// interface for cgo (c10d_api.h). Compiled by scripts/c10d.sh into an archive that package
// distributed links; see docs/distributed.md.

#include "c10d_api.h"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

struct c10d_store {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

struct c10d_group {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  int size;
  std::chrono::milliseconds timeout;
  bool stuck = false;  // a collective did not end within the safety net
};

namespace {

char *dup(const std::string &s) {
  char *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (p != nullptr) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

// guard runs f and turns any exception into an error message: none may cross into Go.
template <typename F>
char *guard(F f) {
  try {
    f();
    return nullptr;
  } catch (const c10::Error &e) {
    // what() of a c10::Error carries a C++ backtrace; the message alone is what Go reports.
    return dup(e.what_without_backtrace());
  } catch (const std::exception &e) {
    return dup(e.what());
  } catch (...) {
    return dup("unknown C++ exception");
  }
}

// A collective waits for its work with a safety net above Gloo's own timeout, which bounds
// every send and receive of the algorithm: a collective is expected to end through that timeout
// or a closed connection well before this.
std::chrono::milliseconds safetyNet(const c10d_group *g) {
  return 2 * g->timeout + std::chrono::milliseconds(10000);
}

using Work = c10::intrusive_ptr<c10d::Work>;

void wait(c10d_group *g, const Work &work) {
  try {
    if (!work->wait(safetyNet(g))) throw std::runtime_error("the collective was aborted");
  } catch (...) {
    if (!work->isCompleted()) g->stuck = true;
    throw;
  }
}

// A bucket is a run of consecutive tensors of one dtype, packed into one flat buffer.
struct Bucket {
  size_t first, last;  // tensors [first, last)
  int64_t numel;
  at::Tensor flat;
};

std::vector<Bucket> buckets(const std::vector<at::Tensor> &ts, int64_t cap) {
  std::vector<Bucket> out;
  int64_t bytes = 0;
  for (size_t i = 0; i < ts.size(); i++) {
    int64_t nb = ts[i].numel() * static_cast<int64_t>(ts[i].element_size());
    if (out.empty() || ts[i].scalar_type() != ts[out.back().first].scalar_type() ||
        (bytes + nb > cap && out.back().last > out.back().first)) {
      out.push_back(Bucket{i, i, 0, at::Tensor()});
      bytes = 0;
    }
    out.back().last = i + 1;
    out.back().numel += ts[i].numel();
    bytes += nb;
  }
  return out;
}

// tensors returns the tensors behind p, checked: defined, on the CPU, and of a floating dtype
// when floating_only is set (a mean of integers would be truncated).
std::vector<at::Tensor> tensors(void *const *p, int n, bool floating_only) {
  std::vector<at::Tensor> ts;
  ts.reserve(n);
  for (int i = 0; i < n; i++) {
    const at::Tensor &t = *static_cast<at::Tensor *>(p[i]);
    std::string name = "tensor " + std::to_string(i);
    if (!t.defined()) throw std::runtime_error(name + " is undefined");
    if (!t.device().is_cpu()) {
      throw std::runtime_error(name + " is on " + t.device().str() + ", not the CPU");
    }
    auto st = t.scalar_type();
    if (floating_only && st != at::kFloat && st != at::kDouble && st != at::kHalf) {
      throw std::runtime_error(name + " has dtype " + std::string(c10::toString(st)) +
                               ", want Float, Double or Half");
    }
    ts.push_back(t);
  }
  return ts;
}

void pack(const std::vector<at::Tensor> &ts, Bucket &b) {
  b.flat = at::empty({b.numel}, ts[b.first].options());
  int64_t off = 0;
  for (size_t i = b.first; i < b.last; i++) {
    int64_t n = ts[i].numel();
    b.flat.narrow(0, off, n).view(ts[i].sizes()).copy_(ts[i]);
    off += n;
  }
}

void unpack(std::vector<at::Tensor> &ts, const Bucket &b) {
  int64_t off = 0;
  for (size_t i = b.first; i < b.last; i++) {
    int64_t n = ts[i].numel();
    ts[i].copy_(b.flat.narrow(0, off, n).view(ts[i].sizes()));
    off += n;
  }
}

}  // namespace

extern "C" {

char *c10d_store_open(const char *host, int port, int is_server, int64_t timeout_ms,
                      c10d_store **out) {
  *out = nullptr;
  return guard([&] {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(port);
    opts.isServer = is_server != 0;
    opts.waitWorkers = false;
    opts.timeout = std::chrono::milliseconds(timeout_ms);
    auto s = c10::make_intrusive<c10d::TCPStore>(std::string(host), opts);
    *out = new c10d_store{std::move(s)};
  });
}

void c10d_store_close(c10d_store *s) {
  if (s == nullptr) return;
  try {
    delete s;
  } catch (...) {
  }
}

char *c10d_store_set(c10d_store *s, const char *key, const void *val, size_t n) {
  return guard([&] {
    const uint8_t *p = static_cast<const uint8_t *>(val);
    s->store->set(key, std::vector<uint8_t>(p, p + n));
  });
}

char *c10d_store_get(c10d_store *s, const char *key, void **val, size_t *n) {
  *val = nullptr;
  *n = 0;
  return guard([&] {
    std::vector<uint8_t> v = s->store->get(key);
    if (v.empty()) return;
    void *p = std::malloc(v.size());
    if (p == nullptr) throw std::bad_alloc();
    std::memcpy(p, v.data(), v.size());
    *val = p;
    *n = v.size();
  });
}

char *c10d_store_check(c10d_store *s, const char *key, int *found) {
  *found = 0;
  return guard([&] { *found = s->store->check({key}) ? 1 : 0; });
}

char *c10d_store_wait(c10d_store *s, const char *const *keys, int n, int64_t timeout_ms) {
  return guard([&] {
    std::vector<std::string> ks(keys, keys + n);
    s->store->wait(ks, std::chrono::milliseconds(timeout_ms));
  });
}

char *c10d_group_new(c10d_store *s, const char *prefix, int rank, int size, const char *hostname,
                     const char *iface, int64_t timeout_ms, c10d_group **out) {
  *out = nullptr;
  return guard([&] {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    if (iface != nullptr && iface[0] != '\0') {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
    } else if (hostname != nullptr && hostname[0] != '\0') {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
    } else {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    opts->threads = 2;
    auto store = c10::make_intrusive<c10d::PrefixStore>(prefix, s->store);
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
    *out = new c10d_group{std::move(pg), size, timeout};
  });
}

void c10d_group_free(c10d_group *g) {
  if (g == nullptr) return;
  if (g->stuck) {
    // The process group's destructor waits for its queued work; work that did not end would
    // hang it. Its threads and sockets stay until the process exits.
    (void)g->pg.release();
    delete g;
    return;
  }
  try {
    delete g;
  } catch (...) {
  }
}

char *c10d_allreduce_mean(c10d_group *g, void *const *ptrs, int n, int64_t bucket_bytes) {
  return guard([&] {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> ts = tensors(ptrs, n, true);
    std::vector<Bucket> bs = buckets(ts, bucket_bytes);
    // Each bucket's all-reduce starts as soon as it is packed; Gloo runs them on its threads
    // while the next one is packed.
    std::vector<Work> works;
    for (Bucket &b : bs) {
      pack(ts, b);
      std::vector<at::Tensor> v{b.flat};
      // A bucket of empty tensors only (the same on every rank) has nothing to send.
      works.push_back(b.numel > 0 ? g->pg->allreduce(v) : Work());
    }
    for (size_t k = 0; k < bs.size(); k++) {
      if (!works[k]) continue;
      wait(g, works[k]);
      bs[k].flat.div_(g->size);
      unpack(ts, bs[k]);
    }
  });
}

char *c10d_broadcast(c10d_group *g, void *const *ptrs, int n, int root, int64_t bucket_bytes) {
  return guard([&] {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> ts = tensors(ptrs, n, false);
    std::vector<Bucket> bs = buckets(ts, bucket_bytes);
    std::vector<Work> works;
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    for (Bucket &b : bs) {
      if (g->pg->getRank() == root) {
        pack(ts, b);
      } else {
        b.flat = at::empty({b.numel}, ts[b.first].options());
      }
      std::vector<at::Tensor> v{b.flat};
      works.push_back(b.numel > 0 ? g->pg->broadcast(v, opts) : Work());
    }
    for (size_t k = 0; k < bs.size(); k++) {
      if (!works[k]) continue;
      wait(g, works[k]);
      if (g->pg->getRank() != root) unpack(ts, bs[k]);
    }
  });
}

char *c10d_exchange(c10d_group *g, const int64_t *mine, int n, int64_t *all) {
  return guard([&] {
    at::Tensor in = at::empty({n}, at::kLong);
    std::memcpy(in.data_ptr(), mine, n * sizeof(int64_t));
    std::vector<std::vector<at::Tensor>> outs(1);
    for (int r = 0; r < g->size; r++) outs[0].push_back(at::empty({n}, at::kLong));
    std::vector<at::Tensor> ins{in};
    wait(g, g->pg->allgather(outs, ins));
    for (int r = 0; r < g->size; r++) {
      std::memcpy(all + r * n, outs[0][r].data_ptr(), n * sizeof(int64_t));
    }
  });
}

char *c10d_allgather(c10d_group *g, const void *buf, int64_t n, int64_t longest, void *out) {
  return guard([&] {
    if (n > longest) throw std::runtime_error("a buffer longer than the longest");
    at::Tensor mine = at::zeros({longest}, at::kByte);
    if (n > 0) std::memcpy(mine.data_ptr(), buf, n);
    std::vector<std::vector<at::Tensor>> outs(1);
    for (int r = 0; r < g->size; r++) outs[0].push_back(at::empty({longest}, at::kByte));
    std::vector<at::Tensor> ins{mine};
    wait(g, g->pg->allgather(outs, ins));
    for (int r = 0; r < g->size; r++) {
      std::memcpy(static_cast<char *>(out) + r * longest, outs[0][r].data_ptr(), longest);
    }
  });
}

char *c10d_layout(void *const *ptrs, int n, int floating_only, int64_t *hash) {
  return guard([&] {
    std::vector<at::Tensor> ts = tensors(ptrs, n, floating_only != 0);
    // FNV-1a over the count, then each tensor's dtype and sizes.
    uint64_t h = 14695981039346656037ull;
    auto mix = [&](int64_t v) {
      for (int i = 0; i < 8; i++) {
        h ^= static_cast<uint64_t>(v >> (8 * i)) & 0xff;
        h *= 1099511628211ull;
      }
    };
    mix(n);
    for (const at::Tensor &t : ts) {
      mix(static_cast<int64_t>(t.scalar_type()));
      mix(t.dim());
      for (int64_t d : t.sizes()) mix(d);
    }
    *hash = static_cast<int64_t>(h);
  });
}

}  // extern "C"
