{
  "targets": [
    {
      "target_name": "fuse_edge",
      "sources": ["native/fuse_edge.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(pkg-config --cflags-only-I fuse3 | sed 's/-I//g')"],
      "libraries": ["<!@(pkg-config --libs fuse3)"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall"]
    }
  ]
}
