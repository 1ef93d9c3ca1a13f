#pragma once
// A std::vector whose storage is pages of its own (mmap), given back to the system when freed. For
// large arrays that live only while one computation runs (reconcile's, of a million entries): from
// the heap, each would leave a hole that keeps the process's resident memory up after it is freed.
#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <vector>

namespace chansync {

template <class T>
struct PageAllocator {
  using value_type = T;
  PageAllocator() = default;
  template <class U>
  PageAllocator(const PageAllocator<U>&) {}  // NOLINT: allocators convert implicitly

  // Throws std::bad_alloc when the system has no pages to give.
  T* allocate(std::size_t n) {
    void* p = mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) { munmap(p, n * sizeof(T)); }
  template <class U>
  friend bool operator==(const PageAllocator&, const PageAllocator<U>&) {
    return true;
  }
};

template <class T>
using PageVector = std::vector<T, PageAllocator<T>>;

}  // namespace chansync
