"""Names a `.px` program may not use (spec, "Lexical rules": the injection rule).

The checker refuses these words as kernel, parameter, variable and host names. Codegen also
prefixes every user name (``v_``), so even a name missing from this list can never collide
with a word of C, CUDA C or OpenCL C or with a function the generated code calls; the list
makes such mistakes visible early with a clear message.
"""

from __future__ import annotations

import re

from pxos.errors import PxNameError
from pxos.ir.functions import ATOMICS, OPERATIONS, c_names
from pxos.span import Span

PX_KEYWORDS = frozenset("""
GPU_KERNEL GPU_PARAM GPU_SHARED_MEM GPU_THREADS GPU_BLOCK GPU_TARGET GPU_THREAD_CODE GPU_END
THREAD_ID LOCAL_ID BLOCK_ID BLOCK_SIZE NUM_THREADS DIM LOAD STORE SET CAST
ADD SUB MUL DIV MOD NEG AND OR XOR SHL SHR NOT IF ELIF ELSE FOR IN STEP WHILE BREAK CONTINUE RETURN
SYNC_THREADS
READ_FILE INTO AS WRITE_FILE TO ALLOC SIZE LIKE FILL RANDOM SEED RANGE RUN REDUCE SUM PROD
SORT PRINT VERIFY TOL TRUE FALSE LEN ROWS COLS SWAP CONST
READ_ENV ENCRYPT DECRYPT WITH KEY NONCE HASH OF COMPRESS DECOMPRESS LEVEL VALIDATE CHUNK
""".split()) | frozenset(f.px for f in OPERATIONS.values() if f.callable) \
    | frozenset(a.px for a in ATOMICS.values())  # SQRT …, ATOMIC_ADD … (ir/functions)

C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
_Imaginary _Noreturn _Static_assert _Thread_local bool true false alignas alignof
static_assert thread_local typeof nullptr constexpr
""".split())

CPP_KEYWORDS = frozenset("""
and and_eq asm bitand bitor catch class compl const_cast delete dynamic_cast explicit export
friend mutable namespace new noexcept not not_eq operator or or_eq private protected public
reinterpret_cast static_cast template this throw try typeid typename using virtual wchar_t
xor xor_eq char8_t char16_t char32_t concept consteval constinit co_await co_return
co_yield decltype requires
""".split())

CUDA_WORDS = frozenset("""
__global__ __device__ __host__ __shared__ __constant__ __managed__ __restrict__
__syncthreads __forceinline__ __noinline__ __launch_bounds__ threadIdx blockIdx blockDim
gridDim warpSize atomicAdd atomicSub atomicMin atomicMax atomicAnd atomicOr atomicXor
atomicExch atomicCAS __half __nv_bfloat16 dim3
""".split())

OPENCL_WORDS = frozenset("""
__kernel kernel __global global __local local __constant constant __private private
__read_only read_only __write_only write_only __read_write read_write uniform pipe
get_global_id get_local_id get_group_id get_local_size get_global_size get_num_groups
barrier CLK_LOCAL_MEM_FENCE CLK_GLOBAL_MEM_FENCE half atomic_add atomic_min atomic_max
atomic_and atomic_or atomic_xor atomic_xchg atomic_cmpxchg vload_half vstore_half
""".split())

LIBC_NAMES = frozenset("""
printf fprintf sprintf snprintf puts putchar scanf malloc calloc realloc free memcpy memset
memmove strlen strcpy strcmp exit abort atexit system main errno stdin stdout stderr
abs labs fabs fabsf sqrt sqrtf rsqrt rsqrtf exp expf log logf sin sinf cos cosf tan tanf
tanh tanhf floor floorf ceil ceilf round roundf pow powf fma fmaf fmin fminf fmax fmaxf
fmod fmodf min max isnan isinf NAN INFINITY NULL assert size_t ptrdiff_t
int8_t uint8_t int16_t uint16_t int32_t uint32_t int64_t uint64_t
""".split()) | c_names()  # and every function the operation table's lowerings call

RESERVED = PX_KEYWORDS | C_KEYWORDS | CPP_KEYWORDS | CUDA_WORDS | OPENCL_WORDS | LIBC_NAMES

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_NAME = 64


def check_name(name: str, span: Span, what: str = "name") -> None:
    """Refuse a name the spec does not allow.

    Raises:
        PxNameError: not an identifier, longer than 64 characters, a reserved word of `.px`,
            C, C++/CUDA C or OpenCL C, a C library name, or a name C reserves for its
            implementation (containing ``__`` or starting with ``_`` and a capital).
    """
    if not _IDENTIFIER.match(name):
        raise PxNameError(f"{name!r} is not a valid {what}", span)
    if len(name) > MAX_NAME:
        raise PxNameError(f"{what} {name[:20]}… is {len(name)} characters long; "
                          f"at most {MAX_NAME} are allowed", span)
    if name in RESERVED:
        raise PxNameError(f"{name!r} is a reserved word of .px, C, CUDA or OpenCL and cannot "
                          f"be a {what}", span, "choose another name")
    if "__" in name or re.match(r"_[A-Z]", name):
        raise PxNameError(f"{name!r} is reserved for C implementations (names with '__' or "
                          f"starting with '_' and a capital)", span, "choose another name")
