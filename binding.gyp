{
  "targets": [
    {
      "target_name": "samsa_native",
      "sources": [
        "native/addon.cc",
        "native/crc32c.cc",
        "native/index-file.cc",
        "native/segment-file.cc",
        "native/batch-scan.cc",
        "native/sender.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-O2", "-fno-exceptions"],
      "conditions": [
        ["target_arch=='x64'", { "cflags_cc": ["-msse4.2"] }],
        ["OS!='linux'", { "defines": ["SAMSA_NOT_LINUX"] }]
      ]
    }
  ]
}
