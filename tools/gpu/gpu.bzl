"""cuda_library and hip_library: compile .cu/.hip sources with nvcc/hipcc into a static archive
that cc_library/cc_test/cc_binary targets can depend on (Bazel 4.2.3 has no CUDA rules, and none
can be downloaded offline). Include paths and defines come from `deps`' CcInfo."""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _compile_and_archive(ctx, compiler, arch_flags, base_flags, suffix):
    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    dep_infos = [d[CcInfo] for d in ctx.attr.deps]
    compilation = cc_common.merge_cc_infos(cc_infos = dep_infos).compilation_context
    headers = depset(ctx.files.hdrs, transitive = [compilation.headers])
    objects = []
    for src in ctx.files.srcs:
        obj = ctx.actions.declare_file("_objs/{}/{}.pic.o".format(ctx.label.name, src.basename))
        args = ctx.actions.args()
        args.add_all(base_flags)
        args.add_all(["-c", src.path, "-o", obj.path])
        args.add_all(arch_flags)
        args.add_all(ctx.attr.copts)
        args.add_all(["-I.", "-I" + ctx.bin_dir.path])
        args.add_all(compilation.includes.to_list(), before_each = "-I")
        args.add_all(compilation.quote_includes.to_list(), before_each = "-I")
        args.add_all(compilation.system_includes.to_list(), before_each = "-isystem")
        args.add_all(["-D" + d for d in compilation.defines.to_list()])
        ctx.actions.run(
            executable = compiler,
            arguments = [args],
            inputs = depset([src], transitive = [headers]),
            outputs = [obj],
            mnemonic = suffix.capitalize() + "Compile",
            progress_message = "Compiling {} {}".format(suffix, src.short_path),
            use_default_shell_env = True,
        )
        objects.append(obj)
    archive = ctx.actions.declare_file("lib{}_{}.a".format(ctx.label.name, suffix))
    ctx.actions.run(
        executable = cc_toolchain.ar_executable,
        arguments = ["rcsD", archive.path] + [o.path for o in objects],
        inputs = depset(objects, transitive = [cc_toolchain.all_files]),
        outputs = [archive],
        mnemonic = "GpuArchive",
    )
    library = cc_common.create_library_to_link(
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        static_library = archive,
        pic_static_library = archive,
        alwayslink = ctx.attr.alwayslink,
    )
    own = CcInfo(
        compilation_context = cc_common.create_compilation_context(headers = depset(ctx.files.hdrs)),
        linking_context = cc_common.create_linking_context(linker_inputs = depset([
            cc_common.create_linker_input(owner = ctx.label, libraries = depset([library])),
        ])),
    )
    return [
        DefaultInfo(files = depset([archive])),
        cc_common.merge_cc_infos(direct_cc_infos = [own], cc_infos = dep_infos),
    ]

def _cuda_library_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    arch = ["-gencode=arch=compute_{0},code=sm_{0}".format(a) for a in ctx.attr.gpu_archs]
    if ctx.attr.ptx_arch:
        # PTX for GPUs newer than the SASS list, JIT-compiled by the driver.
        arch.append("-gencode=arch=compute_{0},code=compute_{0}".format(ctx.attr.ptx_arch))
    base = [
        "-x",
        "cu",
        "-std=c++17",
        "-O3",
        "--compiler-bindir",
        cc_toolchain.compiler_executable,
        "-Xcompiler",
        "-fPIC",
    ]
    return _compile_and_archive(ctx, ctx.attr.compiler, arch, base, "cuda")

def _hip_library_impl(ctx):
    arch = ["--offload-arch=" + a for a in ctx.attr.gpu_archs]
    base = ["-x", "hip", "-std=c++17", "-O3", "-fPIC"]  # hipcc defaults to -std=c++11
    return _compile_and_archive(ctx, ctx.attr.compiler, arch, base, "hip")

_COMMON_ATTRS = {
    "hdrs": attr.label_list(allow_files = [".h", ".cuh", ".hpp"]),
    "deps": attr.label_list(providers = [CcInfo]),
    "copts": attr.string_list(),
    "alwayslink": attr.bool(default = False),
    "_cc_toolchain": attr.label(default = Label("@bazel_tools//tools/cpp:current_cc_toolchain")),
}

cuda_library = rule(
    implementation = _cuda_library_impl,
    attrs = dict(_COMMON_ATTRS, **{
        "srcs": attr.label_list(allow_files = [".cu"]),
        "gpu_archs": attr.string_list(default = ["80", "86", "90"]),
        "ptx_arch": attr.string(default = "90"),
        "compiler": attr.string(default = "/usr/local/cuda/bin/nvcc"),
    }),
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    fragments = ["cpp"],
)

hip_library = rule(
    implementation = _hip_library_impl,
    attrs = dict(_COMMON_ATTRS, **{
        "srcs": attr.label_list(allow_files = [".hip", ".cu", ".cc"]),
        "gpu_archs": attr.string_list(default = ["gfx90a", "gfx1030"]),
        "compiler": attr.string(default = "/usr/bin/hipcc"),
    }),
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    fragments = ["cpp"],
)
