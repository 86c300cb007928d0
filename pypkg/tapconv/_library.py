"""Registers tapconv's ops with torch.library, on torch 1.13 and on torch 2.x.

Every op is defined once with a schema under the ``tapconv`` namespace, so it is callable as
``torch.ops.tapconv.<name>``. What each torch version offers decides how the pieces attach:

=====================  =====================================  ==================================
piece                  torch >= 2.4                           torch 1.13 .. 2.3
=====================  =====================================  ==================================
kernels (CPU, CUDA)    ``Library.impl``                       ``Library.impl``
shape function         ``torch.library.register_fake``        ``impl_abstract`` (2.1+) or a
                                                              ``Meta`` kernel
backward               ``torch.library.register_autograd``    an ``Autograd`` kernel running a
                                                              ``torch.autograd.Function``
=====================  =====================================  ==================================

Both backward routes take the same ``setup_context(ctx, inputs, output)`` and
``backward(ctx, *grads)`` functions, so each op's autograd formula is written once.
"""

import torch

NAMESPACE = "tapconv"

_library = None


def library():
    """The ``torch.library.Library`` that owns the ``tapconv`` namespace (created once)."""
    global _library
    if _library is None:
        _library = torch.library.Library(NAMESPACE, "DEF")
    return _library


class _BelowAutograd:
    """Redispatches past the Autograd keys (torch 1.13's guard is no context manager)."""

    def __enter__(self):
        self._guard = torch._C._AutoDispatchBelowAutograd()

    def __exit__(self, *exc):
        del self._guard
        return False


def _has_modern_registration():
    return hasattr(torch.library, "register_autograd") and hasattr(torch.library, "register_fake")


def _register_fake(name, fake):
    lib = library()
    qualname = "{}::{}".format(NAMESPACE, name)
    if hasattr(torch.library, "register_fake"):
        torch.library.register_fake(qualname, fake, lib=lib)
    elif hasattr(torch.library, "impl_abstract"):
        torch.library.impl_abstract(qualname, fake, lib=lib)
    else:
        lib.impl(name, fake, "Meta")


def _legacy_autograd_kernel(op, setup_context, backward):
    """An Autograd-key kernel that records `backward` through a torch.autograd.Function."""

    def forward(ctx, *args):
        with _BelowAutograd():
            output = op(*args)
        setup_context(ctx, args, output)
        return output

    def run_backward(ctx, *grads):
        return tuple(backward(ctx, *grads))

    # The class name names the autograd node (e.g. OrientedConv2dBackward) in grad_fn.
    name = "".join(part.capitalize() for part in op.__name__.split(".")[0].split("_"))
    function = type(name, (torch.autograd.Function,), {
        "forward": staticmethod(forward), "backward": staticmethod(run_backward)})

    def kernel(*args):
        # Nothing to record (inference, frozen inputs): straight to the kernel, as
        # torch's own ops do. The Function's bookkeeping ran cold after a large op had
        # flushed the caches: 10 us of an N2 C512 56² oriented forward.
        if not torch.is_grad_enabled() or not any(
                isinstance(a, torch.Tensor) and a.requires_grad for a in args):
            with _BelowAutograd():
                return op(*args)
        return function.apply(*args)

    return kernel


def _legacy_passthrough_kernel(op):
    """An Autograd-key kernel for an op without a formula: torch 1.13 has no AutogradMeta
    fallthrough, so even shape inference on meta tensors needs one."""

    def kernel(*args):
        with _BelowAutograd():
            return op(*args)

    return kernel


def define(name, schema, impl, fake, setup_context=None, backward=None):
    """Defines ``torch.ops.tapconv.<name>`` and returns its default overload.

    Args:
      name: the op name.
      schema: the rest of the schema, from the opening parenthesis, e.g.
        ``"(Tensor x, int stride) -> Tensor"``. No keyword-only arguments: every kernel is
        called positionally.
      impl: the kernel for real tensors (CPU and CUDA); it allocates and returns its outputs.
      fake: the shape function: same signature, returns empty tensors of the outputs' shapes,
        dtypes and devices (used for meta and fake tensors, so torch.compile can trace).
      setup_context: ``(ctx, inputs, output)``, saves what backward needs; with `backward`.
      backward: ``(ctx, *grads)`` -> one gradient (or None) per input.
    """
    lib = library()
    lib.define(name + schema)
    for key in ("CPU", "CUDA"):
        lib.impl(name, impl, key)
    _register_fake(name, fake)
    op = getattr(getattr(torch.ops, NAMESPACE), name).default
    if _has_modern_registration():
        if backward is not None:
            torch.library.register_autograd(
                "{}::{}".format(NAMESPACE, name), backward, setup_context=setup_context, lib=lib)
    elif backward is not None:
        lib.impl(name, _legacy_autograd_kernel(op, setup_context, backward), "Autograd")
    else:
        lib.impl(name, _legacy_passthrough_kernel(op), "Autograd")
    return op
