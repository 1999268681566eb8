/*
 * The benchmark's reference: a minimal passthrough file system in C on
 * libfuse3 (multi-threaded), mirroring a directory. Same caching as a Bazil
 * mount (long entry and attribute timeouts, kept page cache), so the
 * difference measured is what is behind the edge.
 * Usage: passthrough SOURCE MOUNTPOINT [libfuse options]
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int base = -1; /* the source directory; paths are opened relative to it */

static const char *rel(const char *path) { return path[1] ? path + 1 : "."; }
#define CHECK(x) return (x) == -1 ? -errno : 0

static void *pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  cfg->use_ino = 1;
  cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 3600;
  cfg->kernel_cache = 1;
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  return NULL;
}
static int pt_getattr(const char *p, struct stat *st, struct fuse_file_info *fi) {
  if (fi) CHECK(fstat(fi->fh, st));
  CHECK(fstatat(base, rel(p), st, AT_SYMLINK_NOFOLLOW));
}
static int pt_readlink(const char *p, char *buf, size_t size) {
  ssize_t n = readlinkat(base, rel(p), buf, size - 1);
  if (n == -1) return -errno;
  buf[n] = 0;
  return 0;
}
static int pt_readdir(const char *p, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi, enum fuse_readdir_flags fl) {
  (void)off; (void)fi; (void)fl;
  int fd = openat(base, rel(p), O_RDONLY | O_DIRECTORY);
  if (fd == -1) return -errno;
  DIR *d = fdopendir(fd);
  if (!d) { close(fd); return -errno; }
  struct dirent *e;
  while ((e = readdir(d))) {
    struct stat st = {.st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};
    if (fill(buf, e->d_name, &st, 0, 0)) break;
  }
  closedir(d);
  return 0;
}
static int pt_mkdir(const char *p, mode_t m) { CHECK(mkdirat(base, rel(p), m)); }
static int pt_unlink(const char *p) { CHECK(unlinkat(base, rel(p), 0)); }
static int pt_rmdir(const char *p) { CHECK(unlinkat(base, rel(p), AT_REMOVEDIR)); }
static int pt_symlink(const char *t, const char *p) { CHECK(symlinkat(t, base, rel(p))); }
static int pt_rename(const char *a, const char *b, unsigned int flags) { CHECK(renameat2(base, rel(a), base, rel(b), flags)); }
static int pt_link(const char *a, const char *b) { CHECK(linkat(base, rel(a), base, rel(b), 0)); }
static int pt_chmod(const char *p, mode_t m, struct fuse_file_info *fi) {
  if (fi) CHECK(fchmod(fi->fh, m));
  CHECK(fchmodat(base, rel(p), m, 0));
}
static int pt_chown(const char *p, uid_t u, gid_t g, struct fuse_file_info *fi) {
  (void)fi;
  CHECK(fchownat(base, rel(p), u, g, AT_SYMLINK_NOFOLLOW));
}
static int pt_truncate(const char *p, off_t size, struct fuse_file_info *fi) {
  if (fi) CHECK(ftruncate(fi->fh, size));
  int fd = openat(base, rel(p), O_WRONLY);
  if (fd == -1) return -errno;
  int rc = ftruncate(fd, size) == -1 ? -errno : 0;
  close(fd);
  return rc;
}
static int pt_utimens(const char *p, const struct timespec tv[2], struct fuse_file_info *fi) {
  if (fi) CHECK(futimens(fi->fh, tv));
  CHECK(utimensat(base, rel(p), tv, AT_SYMLINK_NOFOLLOW));
}
static int pt_create(const char *p, mode_t m, struct fuse_file_info *fi) {
  int fd = openat(base, rel(p), fi->flags, m);
  if (fd == -1) return -errno;
  fi->fh = fd;
  return 0;
}
static int pt_open(const char *p, struct fuse_file_info *fi) {
  int fd = openat(base, rel(p), fi->flags & ~O_NOFOLLOW);
  if (fd == -1) return -errno;
  fi->fh = fd;
  fi->keep_cache = 1;
  return 0;
}
static int pt_read(const char *p, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)p;
  ssize_t n = pread(fi->fh, buf, size, off);
  return n == -1 ? -errno : (int)n;
}
static int pt_write(const char *p, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)p;
  ssize_t n = pwrite(fi->fh, buf, size, off);
  return n == -1 ? -errno : (int)n;
}
static int pt_statfs(const char *p, struct statvfs *st) { (void)p; CHECK(fstatvfs(base, st)); }
static int pt_release(const char *p, struct fuse_file_info *fi) { (void)p; close(fi->fh); return 0; }
static int pt_fsync(const char *p, int datasync, struct fuse_file_info *fi) {
  (void)p;
  CHECK(datasync ? fdatasync(fi->fh) : fsync(fi->fh));
}

static const struct fuse_operations ops = {
    .init = pt_init, .getattr = pt_getattr, .readlink = pt_readlink, .readdir = pt_readdir, .mkdir = pt_mkdir,
    .unlink = pt_unlink, .rmdir = pt_rmdir, .symlink = pt_symlink, .rename = pt_rename, .link = pt_link,
    .chmod = pt_chmod, .chown = pt_chown, .truncate = pt_truncate, .utimens = pt_utimens, .create = pt_create,
    .open = pt_open, .read = pt_read, .write = pt_write, .statfs = pt_statfs, .release = pt_release, .fsync = pt_fsync,
};

int main(int argc, char *argv[]) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SOURCE MOUNTPOINT [options]\n", argv[0]);
    return 2;
  }
  base = open(argv[1], O_RDONLY | O_DIRECTORY);
  if (base == -1) {
    perror(argv[1]);
    return 1;
  }
  argv[1] = argv[0];
  return fuse_main(argc - 1, argv + 1, &ops, NULL);
}
