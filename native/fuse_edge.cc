// Bazil's FUSE edge: libfuse3's low-level API, and nothing of Bazil's logic.
//
// libfuse's worker threads read requests from /dev/fuse; each operation here
// copies what it needs into a Request and queues it. One wake-up of the
// JavaScript thread drains the whole queue (a batch), and JavaScript replies
// later through the reply functions, by the request's id. Requests are
// answered asynchronously, so a worker thread never waits on JavaScript.
//
// Kernel cache invalidations are queued to a thread of their own: the kernel
// takes the directory's lock to drop an entry, and a request holding that lock
// may be waiting for a reply from the JavaScript thread.
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <napi.h>

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

enum Op {
  LOOKUP, GETATTR, SETATTR, READLINK, MKDIR, UNLINK, RMDIR, SYMLINK, RENAME, OPEN, READ, WRITE,
  FLUSH, RELEASE, FSYNC, OPENDIR, READDIR, RELEASEDIR, STATFS, CREATE, READDIRPLUS, LINK, MKNOD, LSEEK,
  SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR, FALLOCATE,
};

struct Request {
  fuse_req_t req;
  int op;
  fuse_ino_t ino = 0;
  fuse_ino_t ino2 = 0;  // rename's new parent, link's new parent
  uint64_t fh = 0;
  std::string name, name2;  // bytes as the kernel gave them
  std::vector<char> data;  // a write's bytes, setxattr's value
  double size = 0, offset = 0;
  int mode = 0, flags = 0, toSet = 0;
  int64_t atimeS = 0, atimeNs = 0, mtimeS = 0, mtimeNs = 0;
};

struct Session;

struct Notice {
  bool entry;
  fuse_ino_t ino;
  std::string name;
  off_t off;
  off_t len;
};

struct Session {
  fuse_session* se = nullptr;
  std::string dir;
  std::thread loop;
  Napi::ThreadSafeFunction wake;
  std::mutex mu;
  std::vector<Request*> queue;
  std::atomic<bool> ended{false};
  bool destroyed = false;  // the thread-safe function's finalizer frees the Session
  // The notifier thread and its queue.
  std::thread notifier;
  std::mutex nmu;
  std::condition_variable ncv;
  std::deque<Notice> notices;
  bool stopping = false;
};

Session* sessionOf(fuse_req_t req) { return static_cast<Session*>(fuse_req_userdata(req)); }

void deliver(Session* s, Napi::Env env, Napi::Function handler);

void push(Request* r) {
  Session* s = sessionOf(r->req);
  bool first;
  {
    std::lock_guard<std::mutex> g(s->mu);
    first = s->queue.empty();
    s->queue.push_back(r);
  }
  // Only the first request of a batch wakes JavaScript: it drains the rest.
  if (first) s->wake.NonBlockingCall();
}

Request* make(fuse_req_t req, int op, fuse_ino_t ino) {
  Request* r = new Request();
  r->req = req;
  r->op = op;
  r->ino = ino;
  return r;
}

void opLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Request* r = make(req, LOOKUP, parent);
  r->name = name;
  push(r);
}
void opForget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }
void opForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) { fuse_reply_none(req); }
void opGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request* r = make(req, GETATTR, ino);
  if (fi) r->fh = fi->fh;
  push(r);
}
void opSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int toSet, fuse_file_info* fi) {
  Request* r = make(req, SETATTR, ino);
  r->toSet = toSet;
  r->fh = fi ? fi->fh : 0;
  r->flags = fi ? 1 : 0;
  r->mode = attr->st_mode & 07777;
  r->size = static_cast<double>(attr->st_size);
  r->atimeS = attr->st_atim.tv_sec;
  r->atimeNs = attr->st_atim.tv_nsec;
  r->mtimeS = attr->st_mtim.tv_sec;
  r->mtimeNs = attr->st_mtim.tv_nsec;
  push(r);
}
void opReadlink(fuse_req_t req, fuse_ino_t ino) { push(make(req, READLINK, ino)); }
void opMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Request* r = make(req, MKNOD, parent);
  r->name = name;
  r->mode = mode;
  r->size = static_cast<double>(rdev);
  push(r);
}
void opMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Request* r = make(req, MKDIR, parent);
  r->name = name;
  r->mode = mode & 07777;
  push(r);
}
void opUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Request* r = make(req, UNLINK, parent);
  r->name = name;
  push(r);
}
void opRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Request* r = make(req, RMDIR, parent);
  r->name = name;
  push(r);
}
void opSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  Request* r = make(req, SYMLINK, parent);
  r->name = name;
  r->name2 = target;
  push(r);
}
void opRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname, unsigned int flags) {
  Request* r = make(req, RENAME, parent);
  r->name = name;
  r->ino2 = newparent;
  r->name2 = newname;
  r->flags = static_cast<int>(flags);
  push(r);
}
void opLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Request* r = make(req, LINK, ino);
  r->ino2 = newparent;
  r->name = newname;
  push(r);
}
void opOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request* r = make(req, OPEN, ino);
  r->flags = fi->flags;
  push(r);
}
void opRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Request* r = make(req, READ, ino);
  r->fh = fi->fh;
  r->size = static_cast<double>(size);
  r->offset = static_cast<double>(off);
  push(r);
}
void opWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  Request* r = make(req, WRITE, ino);
  r->fh = fi->fh;
  r->data.assign(buf, buf + size);  // libfuse reuses buf for the next request
  r->offset = static_cast<double>(off);
  push(r);
}
void opFlush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request* r = make(req, FLUSH, ino);
  r->fh = fi->fh;
  push(r);
}
void opRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request* r = make(req, RELEASE, ino);
  r->fh = fi->fh;
  push(r);
}
void opFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  Request* r = make(req, FSYNC, ino);
  r->fh = fi->fh;
  r->flags = datasync;
  push(r);
}
void opOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) { push(make(req, OPENDIR, ino)); }
void opReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Request* r = make(req, READDIR, ino);
  r->fh = fi->fh;
  r->size = static_cast<double>(size);
  r->offset = static_cast<double>(off);
  push(r);
}
void opReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Request* r = make(req, READDIRPLUS, ino);
  r->fh = fi->fh;
  r->size = static_cast<double>(size);
  r->offset = static_cast<double>(off);
  push(r);
}
void opReleasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request* r = make(req, RELEASEDIR, ino);
  r->fh = fi->fh;
  push(r);
}
void opStatfs(fuse_req_t req, fuse_ino_t ino) { push(make(req, STATFS, ino)); }
void opCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  Request* r = make(req, CREATE, parent);
  r->name = name;
  r->mode = mode & 07777;
  r->flags = fi->flags;
  push(r);
}
// Only SEEK_DATA and SEEK_HOLE come here; the kernel answers the other whences itself.
void opLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
  Request* r = make(req, LSEEK, ino);
  r->fh = fi->fh;
  r->offset = static_cast<double>(off);
  r->flags = whence;
  push(r);
}

// Extended attributes: only user.* is stored (see src/fuse/volume-fs.ts). The
// kernel asks for security.capability before every write (FUSE clears
// SB_NOSEC), so reads of other namespaces are answered here, without a trip
// to JavaScript: nothing is stored there.
bool userNamespace(const char* name) { return strncmp(name, "user.", 5) == 0; }

void opSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  Request* r = make(req, SETXATTR, ino);
  r->name = name;
  r->data.assign(value, value + size);
  r->flags = flags;
  push(r);
}
void opGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  if (!userNamespace(name)) {
    fuse_reply_err(req, ENODATA);
    return;
  }
  Request* r = make(req, GETXATTR, ino);
  r->name = name;
  r->size = static_cast<double>(size);
  push(r);
}
void opListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Request* r = make(req, LISTXATTR, ino);
  r->size = static_cast<double>(size);
  push(r);
}
void opRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Request* r = make(req, REMOVEXATTR, ino);
  r->name = name;
  push(r);
}
void opFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info* fi) {
  Request* r = make(req, FALLOCATE, ino);
  r->fh = fi->fh;
  r->mode = mode;
  r->offset = static_cast<double>(offset);
  r->size = static_cast<double>(length);
  push(r);
}

void opInit(void*, fuse_conn_info* conn) {
  // 1 MiB requests: libfuse asks the kernel for max_pages to match max_write.
  conn->max_write = 1 << 20;
  conn->max_read = 0;
  conn->max_readahead = 1 << 20;
  conn->want |= FUSE_CAP_ASYNC_READ | FUSE_CAP_AUTO_INVAL_DATA;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;  // always plus: one request fills names and attributes
  // No writeback cache. fsync and close would still commit every byte (the
  // kernel writes dirty pages back before FSYNC and FLUSH), but the kernel then
  // keeps its own size and mtime of regular files and ignores the server's, so
  // a size a sync changed would never show (notify_inval_inode does not undo
  // it); writes come as whole pages, so a 1-byte write stores a page and
  // SEEK_DATA finds page-sized data; and a write's error (EFBIG) surfaces at
  // close as EIO. Measured on the FUSE bench, it gained nothing here either.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

fuse_lowlevel_ops makeOps() {
  fuse_lowlevel_ops ops;
  memset(&ops, 0, sizeof ops);
  ops.init = opInit;
  ops.lookup = opLookup;
  ops.forget = opForget;
  ops.forget_multi = opForgetMulti;
  ops.getattr = opGetattr;
  ops.setattr = opSetattr;
  ops.readlink = opReadlink;
  ops.mknod = opMknod;
  ops.mkdir = opMkdir;
  ops.unlink = opUnlink;
  ops.rmdir = opRmdir;
  ops.symlink = opSymlink;
  ops.rename = opRename;
  ops.link = opLink;
  ops.open = opOpen;
  ops.read = opRead;
  ops.write = opWrite;
  ops.flush = opFlush;
  ops.release = opRelease;
  ops.fsync = opFsync;
  ops.opendir = opOpendir;
  ops.readdir = opReaddir;
  ops.readdirplus = opReaddirplus;
  ops.releasedir = opReleasedir;
  ops.statfs = opStatfs;
  ops.create = opCreate;
  ops.lseek = opLseek;
  ops.setxattr = opSetxattr;
  ops.getxattr = opGetxattr;
  ops.listxattr = opListxattr;
  ops.removexattr = opRemovexattr;
  ops.fallocate = opFallocate;
  return ops;
}
const fuse_lowlevel_ops kOps = makeOps();

// ---- JavaScript side ------------------------------------------------------

Napi::Value bytes(Napi::Env env, const std::string& s) { return Napi::Buffer<char>::Copy(env, s.data(), s.size()); }

Napi::Object toJs(Napi::Env env, Request* r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", Napi::Number::New(env, static_cast<double>(reinterpret_cast<uintptr_t>(r->req))));
  o.Set("op", r->op);
  o.Set("ino", static_cast<double>(r->ino));
  switch (r->op) {
    case LOOKUP: case UNLINK: case RMDIR: case MKDIR: case MKNOD: case CREATE:
    case SETXATTR: case GETXATTR: case REMOVEXATTR:
      o.Set("name", bytes(env, r->name));
      break;
    case SYMLINK: case RENAME:
      o.Set("name", bytes(env, r->name));
      o.Set("name2", bytes(env, r->name2));
      break;
    case LINK:
      o.Set("name", bytes(env, r->name));
      break;
    default:
      break;
  }
  o.Set("ino2", static_cast<double>(r->ino2));
  o.Set("fh", static_cast<double>(r->fh));
  o.Set("mode", r->mode);
  o.Set("flags", r->flags);
  o.Set("size", r->size);
  o.Set("offset", r->offset);
  if (r->op == SETATTR) {
    o.Set("toSet", r->toSet);
    o.Set("atimeS", static_cast<double>(r->atimeS));
    o.Set("atimeNs", static_cast<double>(r->atimeNs));
    o.Set("mtimeS", static_cast<double>(r->mtimeS));
    o.Set("mtimeNs", static_cast<double>(r->mtimeNs));
  }
  if (r->op == WRITE || r->op == SETXATTR) {
    auto* v = new std::vector<char>(std::move(r->data));
    o.Set("data", Napi::Buffer<char>::New(env, v->data(), v->size(), [](Napi::Env, char*, std::vector<char>* p) { delete p; }, v));
  }
  return o;
}

void deliver(Session* s, Napi::Env env, Napi::Function handler) {
  if (s->destroyed) return;
  std::vector<Request*> batch;
  {
    std::lock_guard<std::mutex> g(s->mu);
    batch.swap(s->queue);
  }
  if (batch.empty()) return;
  Napi::Array arr = Napi::Array::New(env, batch.size());
  for (size_t i = 0; i < batch.size(); i++) {
    arr.Set(i, toJs(env, batch[i]));
    delete batch[i];
  }
  handler.Call({arr});
}

fuse_req_t reqOf(const Napi::CallbackInfo& info) {
  return reinterpret_cast<fuse_req_t>(static_cast<uintptr_t>(info[0].As<Napi::Number>().DoubleValue()));
}

// attr: [ino, mode, nlink, uid, gid, size, blocks, atimeS, atimeNs, mtimeS, mtimeNs, ctimeS, ctimeNs, rdev?]
struct stat statOf(Napi::Array a) {
  struct stat st;
  memset(&st, 0, sizeof st);
  auto n = [&](uint32_t i) { return a.Get(i).As<Napi::Number>().DoubleValue(); };
  st.st_ino = static_cast<ino_t>(n(0));
  st.st_mode = static_cast<mode_t>(n(1));
  st.st_nlink = static_cast<nlink_t>(n(2));
  st.st_uid = static_cast<uid_t>(n(3));
  st.st_gid = static_cast<gid_t>(n(4));
  st.st_size = static_cast<off_t>(n(5));
  st.st_blocks = static_cast<blkcnt_t>(n(6));
  st.st_blksize = 4096;
  st.st_atim.tv_sec = static_cast<time_t>(n(7));
  st.st_atim.tv_nsec = static_cast<long>(n(8));
  st.st_mtim.tv_sec = static_cast<time_t>(n(9));
  st.st_mtim.tv_nsec = static_cast<long>(n(10));
  st.st_ctim.tv_sec = static_cast<time_t>(n(11));
  st.st_ctim.tv_nsec = static_cast<long>(n(12));
  if (a.Length() > 13) st.st_rdev = static_cast<dev_t>(n(13));
  return st;
}

// entry: [attr, generation, timeout] (attr null: a negative entry)
fuse_entry_param entryOf(Napi::Value v) {
  fuse_entry_param e;
  memset(&e, 0, sizeof e);
  Napi::Array a = v.As<Napi::Array>();
  Napi::Value attr = a.Get(0u);
  double timeout = a.Get(2u).As<Napi::Number>().DoubleValue();
  e.entry_timeout = timeout;
  if (!attr.IsNull()) {
    e.attr = statOf(attr.As<Napi::Array>());
    e.ino = e.attr.st_ino;
    e.generation = static_cast<uint64_t>(a.Get(1u).As<Napi::Number>().DoubleValue());
    e.attr_timeout = timeout;
  }
  return e;
}

Napi::Value ReplyErr(const Napi::CallbackInfo& info) {
  fuse_reply_err(reqOf(info), info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}
Napi::Value ReplyNone(const Napi::CallbackInfo& info) {
  fuse_reply_none(reqOf(info));
  return info.Env().Undefined();
}
Napi::Value ReplyEntry(const Napi::CallbackInfo& info) {
  fuse_entry_param e = entryOf(info[1]);
  fuse_reply_entry(reqOf(info), &e);
  return info.Env().Undefined();
}
Napi::Value ReplyAttr(const Napi::CallbackInfo& info) {
  struct stat st = statOf(info[1].As<Napi::Array>());
  fuse_reply_attr(reqOf(info), &st, info[2].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}
// open: (id, fh, keepCache)
Napi::Value ReplyOpen(const Napi::CallbackInfo& info) {
  fuse_file_info fi;
  memset(&fi, 0, sizeof fi);
  fi.fh = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
  fi.keep_cache = info[2].As<Napi::Boolean>().Value();
  fuse_reply_open(reqOf(info), &fi);
  return info.Env().Undefined();
}
// create: (id, entry, fh)
Napi::Value ReplyCreate(const Napi::CallbackInfo& info) {
  fuse_entry_param e = entryOf(info[1]);
  fuse_file_info fi;
  memset(&fi, 0, sizeof fi);
  fi.fh = static_cast<uint64_t>(info[2].As<Napi::Number>().DoubleValue());
  fuse_reply_create(reqOf(info), &e, &fi);
  return info.Env().Undefined();
}
// buf: (id, buffer, length)
Napi::Value ReplyBuf(const Napi::CallbackInfo& info) {
  Napi::Buffer<char> b = info[1].As<Napi::Buffer<char>>();
  size_t n = info[2].As<Napi::Number>().Uint32Value();
  fuse_reply_buf(reqOf(info), b.Data(), n < b.Length() ? n : b.Length());
  return info.Env().Undefined();
}
Napi::Value ReplyWrite(const Napi::CallbackInfo& info) {
  fuse_reply_write(reqOf(info), info[1].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}
// getxattr and listxattr asked with size 0: the size the value or list needs.
Napi::Value ReplyXattr(const Napi::CallbackInfo& info) {
  fuse_reply_xattr(reqOf(info), info[1].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}
Napi::Value ReplyLseek(const Napi::CallbackInfo& info) {
  fuse_reply_lseek(reqOf(info), static_cast<off_t>(info[1].As<Napi::Number>().DoubleValue()));
  return info.Env().Undefined();
}
Napi::Value ReplyReadlink(const Napi::CallbackInfo& info) {
  Napi::Buffer<char> b = info[1].As<Napi::Buffer<char>>();
  std::string target(b.Data(), b.Length());
  fuse_reply_readlink(reqOf(info), target.c_str());
  return info.Env().Undefined();
}
// statfs: (id, [bsize, frsize, blocks, bfree, bavail, files, ffree, favail, namemax])
Napi::Value ReplyStatfs(const Napi::CallbackInfo& info) {
  Napi::Array a = info[1].As<Napi::Array>();
  auto n = [&](uint32_t i) { return static_cast<unsigned long>(a.Get(i).As<Napi::Number>().DoubleValue()); };
  struct statvfs st;
  memset(&st, 0, sizeof st);
  st.f_bsize = n(0);
  st.f_frsize = n(1);
  st.f_blocks = n(2);
  st.f_bfree = n(3);
  st.f_bavail = n(4);
  st.f_files = n(5);
  st.f_ffree = n(6);
  st.f_favail = n(7);
  st.f_namemax = n(8);
  fuse_reply_statfs(reqOf(info), &st);
  return info.Env().Undefined();
}
// readdir: (id, size, offset, names[], entries[]) where entries[i] is an entry
// ([attr, generation, timeout]) for readdirplus or a mode for readdir. Entry i's
// offset is i + 1. Answers what fits in size from entry `offset` on, and says
// how many were answered (readdirplus counts as lookups for the kernel).
Napi::Value ReplyDir(const Napi::CallbackInfo& info) {
  fuse_req_t req = reqOf(info);
  size_t size = info[1].As<Napi::Number>().Uint32Value();
  size_t from = static_cast<size_t>(info[2].As<Napi::Number>().DoubleValue());
  Napi::Array names = info[3].As<Napi::Array>();
  Napi::Array entries = info[4].As<Napi::Array>();
  bool plus = info[5].As<Napi::Boolean>().Value();
  std::vector<char> buf(size);
  size_t used = 0;
  uint32_t i = static_cast<uint32_t>(from);
  for (; i < names.Length(); i++) {
    Napi::Buffer<char> nb = names.Get(i).As<Napi::Buffer<char>>();
    std::string name(nb.Data(), nb.Length());
    size_t n;
    if (plus) {
      fuse_entry_param e = entryOf(entries.Get(i));
      n = fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &e, i + 1);
    } else {
      Napi::Array a = entries.Get(i).As<Napi::Array>();
      struct stat st;
      memset(&st, 0, sizeof st);
      st.st_ino = static_cast<ino_t>(a.Get(0u).As<Napi::Number>().DoubleValue());
      st.st_mode = static_cast<mode_t>(a.Get(1u).As<Napi::Number>().DoubleValue());
      n = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st, i + 1);
    }
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
  return Napi::Number::New(info.Env(), i - from);
}

void notifyLoop(Session* s) {
  for (;;) {
    Notice n;
    {
      std::unique_lock<std::mutex> g(s->nmu);
      s->ncv.wait(g, [&] { return s->stopping || !s->notices.empty(); });
      if (s->notices.empty()) return;
      n = std::move(s->notices.front());
      s->notices.pop_front();
    }
    // ENOENT: the kernel does not have it cached, which is as good.
    if (n.entry) fuse_lowlevel_notify_inval_entry(s->se, n.ino, n.name.data(), n.name.size());
    else fuse_lowlevel_notify_inval_inode(s->se, n.ino, n.off, n.len);
  }
}

Session* sessionArg(const Napi::CallbackInfo& info) { return info[0].As<Napi::External<Session>>().Data(); }

// (session, parent, nameBuffer)
Napi::Value InvalEntry(const Napi::CallbackInfo& info) {
  Session* s = sessionArg(info);
  Napi::Buffer<char> b = info[2].As<Napi::Buffer<char>>();
  {
    std::lock_guard<std::mutex> g(s->nmu);
    s->notices.push_back({true, static_cast<fuse_ino_t>(info[1].As<Napi::Number>().DoubleValue()), std::string(b.Data(), b.Length()), 0, 0});
  }
  s->ncv.notify_one();
  return info.Env().Undefined();
}
// (session, ino, dataToo): attributes, and with dataToo the cached pages
Napi::Value InvalInode(const Napi::CallbackInfo& info) {
  Session* s = sessionArg(info);
  bool data = info[2].As<Napi::Boolean>().Value();
  {
    std::lock_guard<std::mutex> g(s->nmu);
    s->notices.push_back({false, static_cast<fuse_ino_t>(info[1].As<Napi::Number>().DoubleValue()), std::string(), data ? 0 : -1, 0});
  }
  s->ncv.notify_one();
  return info.Env().Undefined();
}

// (dir, options string for -o, handler(batch)) -> session
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>();
  std::string opts = info[1].As<Napi::String>();
  Napi::Function handler = info[2].As<Napi::Function>();
  Session* s = new Session();
  s->dir = dir;
  std::vector<std::string> argv = {"bazil", "-o", opts};
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(cargv.size()), cargv.data());
  s->se = fuse_session_new(&args, &kOps, sizeof kOps, s);
  if (!s->se) {
    delete s;
    Napi::Error::New(env, "fuse_session_new failed: bad mount options " + opts).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (fuse_session_mount(s->se, dir.c_str()) != 0) {
    fuse_session_destroy(s->se);
    delete s;
    Napi::Error::New(env, "could not mount on " + dir).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // The thread-safe function calls handler with no arguments; the batch comes from the queue.
  s->wake = Napi::ThreadSafeFunction::New(
      env, Napi::Function::New(env, [s, ref = std::make_shared<Napi::FunctionReference>(Napi::Persistent(handler))](const Napi::CallbackInfo& i) {
        deliver(s, i.Env(), ref->Value());
      }),
      "bazil-fuse", 0, 1, [](Napi::Env, Session* s) { delete s; }, s);
  s->notifier = std::thread(notifyLoop, s);
  s->loop = std::thread([s] {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    fuse_loop_cfg_set_max_threads(cfg, 4);
    fuse_loop_cfg_set_idle_threads(cfg, 2);
    fuse_session_loop_mt(s->se, cfg);
    fuse_loop_cfg_destroy(cfg);
    s->ended = true;
  });
  return Napi::External<Session>::New(env, s);
}

// (dir, flags): umount2(2); 0 or the errno. MNT_FORCE aborts the connection
// (what is waiting fails), MNT_DETACH unmounts lazily.
Napi::Value Umount(const Napi::CallbackInfo& info) {
  std::string dir = info[0].As<Napi::String>();
  int rc = umount2(dir.c_str(), info[1].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), rc == 0 ? 0 : errno);
}

// (session): true once the kernel ended the connection (after an unmount).
Napi::Value Ended(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), sessionArg(info)->ended); }

// (session): stops the threads and frees the session, once it ended and
// JavaScript answers nothing more.
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  Session* s = sessionArg(info);
  fuse_session_exit(s->se);
  s->loop.join();
  {
    std::lock_guard<std::mutex> g(s->nmu);
    s->stopping = true;
    s->notices.clear();
  }
  s->ncv.notify_one();
  s->notifier.join();
  for (Request* r : s->queue) delete r;  // never delivered: dropped with the session
  s->queue.clear();
  fuse_session_destroy(s->se);
  s->se = nullptr;
  s->destroyed = true;
  s->wake.Release();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
  exports.Set("ended", Napi::Function::New(env, Ended));
  exports.Set("destroy", Napi::Function::New(env, Destroy));
  exports.Set("invalEntry", Napi::Function::New(env, InvalEntry));
  exports.Set("invalInode", Napi::Function::New(env, InvalInode));
  exports.Set("replyErr", Napi::Function::New(env, ReplyErr));
  exports.Set("replyNone", Napi::Function::New(env, ReplyNone));
  exports.Set("replyEntry", Napi::Function::New(env, ReplyEntry));
  exports.Set("replyAttr", Napi::Function::New(env, ReplyAttr));
  exports.Set("replyOpen", Napi::Function::New(env, ReplyOpen));
  exports.Set("replyCreate", Napi::Function::New(env, ReplyCreate));
  exports.Set("replyBuf", Napi::Function::New(env, ReplyBuf));
  exports.Set("replyWrite", Napi::Function::New(env, ReplyWrite));
  exports.Set("replyLseek", Napi::Function::New(env, ReplyLseek));
  exports.Set("replyXattr", Napi::Function::New(env, ReplyXattr));
  exports.Set("replyReadlink", Napi::Function::New(env, ReplyReadlink));
  exports.Set("replyStatfs", Napi::Function::New(env, ReplyStatfs));
  exports.Set("replyDir", Napi::Function::New(env, ReplyDir));
  return exports;
}

}  // namespace

NODE_API_MODULE(fuse_edge, Init)
