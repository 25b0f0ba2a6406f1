// segmenta embed: sentence embeddings with a BERT-family sentence-transformer.
//
// The pieces, bottom up:
//   * SafeTensors        reads (and writes) Hugging Face .safetensors files; every
//                        header field and offset is checked, so a damaged or hostile
//                        file raises ModelFormatError instead of crashing;
//   * WordPieceTokenizer BERT's basic tokenization + WordPiece, giving the same ids as
//                        Hugging Face's BertTokenizerFast (tokenizer.json) and
//                        transformers' BertTokenizer;
//   * SentenceEncoder    a sentence-transformers model folder (BertModel + Pooling
//                        [+ Normalize]) run in C++: embeddings, N encoder layers
//                        (multi-head self-attention, add & LayerNorm, erf-GELU FFN,
//                        add & LayerNorm), pooling (mean / cls / max / mean_sqrt_len),
//                        optional L2 normalisation; fp32 through BLAS, or bf16 / int8
//                        through AVX-512 BF16 / VNNI kernels with a portable fallback;
//   * RowTemplate        renders each row of a Table to a sentence through a template
//                        with {column} placeholders (the blog's template built in).
//
// Reference behaviour: sentence-transformers' SentenceTransformer.encode (transformers
// BertModel in eval mode, token_type_ids 0, position ids 0..T-1, attention mask over the
// real tokens, truncation to max_seq_length), checked against ../shared/golden/bert.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/table.hpp"

namespace segmenta {

class Communicator;  // segmenta/comm.hpp

// ---------------------------------------------------------------------------
// safetensors
// ---------------------------------------------------------------------------

/// One tensor of a safetensors file. `begin`/`end` are byte offsets into the data
/// section (after the 8-byte length and the JSON header).
struct TensorInfo {
  std::string name;
  std::string dtype;  // as written: "F32", "F16", "BF16", "F64", "I64", "U8", ...
  std::vector<std::size_t> shape;
  std::size_t begin = 0, end = 0;
  std::size_t numel() const noexcept;
};

/// A parsed safetensors file held in memory.
///
/// Validation (any failure throws ModelFormatError naming the file and the field):
/// file of at least 8 bytes; header length <= 100 MB and within the file; the header is
/// a JSON object of nesting depth <= 8; every entry has a known dtype, a shape of
/// non-negative integers, data_offsets [begin, end] with begin <= end <= data size and
/// end - begin == product(shape) * dtype size (no overflow); tensors do not overlap;
/// "__metadata__" is an object of strings. Complexity: O(file size).
class SafeTensors {
 public:
  SafeTensors() = default;
  /// Reads `path`. Throws IoError when it cannot be opened or read, ModelFormatError as above.
  static SafeTensors read(const std::string& path);
  /// Parses the bytes of a whole file; `name` appears in error messages.
  static SafeTensors parse(std::string bytes, std::string name);

  const std::string& name() const noexcept { return name_; }
  const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  /// The tensor called `name`, or nullptr.
  const TensorInfo* find(std::string_view name) const noexcept;
  /// The values of a F32 / F16 / BF16 / F64 tensor as float (F64 rounded to nearest).
  /// Throws ModelFormatError for other dtypes.
  std::vector<float> to_float(const TensorInfo& t) const;
  /// to_float of the tensor `name` after checking that it exists and has exactly `shape`;
  /// throws ModelFormatError otherwise.
  std::vector<float> load(std::string_view name, const std::vector<std::size_t>& shape) const;

 private:
  std::string name_;
  std::string bytes_;
  std::size_t data_offset_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

/// A named float tensor to serialise (values in row-major order, product(shape) of them).
struct NamedTensor {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<float> values;
};

enum class SafeTensorsDType { f32, f16, bf16 };

/// Serialises tensors as a safetensors file (tensors sorted by name, header padded with
/// spaces to a multiple of 8 bytes, "__metadata__": {"format": "pt"}); F16 / BF16 round
/// to nearest even. Throws InvalidArgument when a tensor's size does not match its shape
/// or two tensors share a name.
std::string safetensors_bytes(const std::vector<NamedTensor>& tensors, SafeTensorsDType dtype = SafeTensorsDType::f32);
/// Writes safetensors_bytes to `path` (temporary file + rename). Throws IoError.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       SafeTensorsDType dtype = SafeTensorsDType::f32);

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

struct TokenizerOptions {
  bool clean_text = true;            // drop NUL, U+FFFD and control characters; whitespace -> ' '
  bool handle_chinese_chars = true;  // put spaces around CJK ideographs
  bool lowercase = true;
  std::optional<bool> strip_accents;  // NFD + drop nonspacing marks; unset = follows lowercase
  std::size_t max_input_chars_per_word = 100;  // longer words become unk_token
  std::string continuing_subword_prefix = "##";
  std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]", pad_token = "[PAD]";
  /// Tokens matched verbatim in the raw text before normalisation (Hugging Face's added
  /// special tokens: [PAD] [UNK] [CLS] [SEP] [MASK] for BERT).
  std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
};

/// BERT tokenization: special tokens split out of the raw text, then per piece
/// clean_text, CJK padding, accent stripping (canonical decomposition by libutf8proc,
/// nonspacing marks removed), lower-casing, split on Unicode whitespace and on
/// punctuation (ASCII punctuation or Unicode category P*), then greedy longest-match
/// WordPiece with the "##" prefix; a word longer than max_input_chars_per_word code points,
/// or one that cannot be covered by vocabulary pieces, becomes [UNK]. Invalid UTF-8 bytes
/// read as U+FFFD (and are therefore dropped by clean_text). Matches Hugging Face's
/// BertNormalizer + BertPreTokenizer + WordPiece (lower-casing per character, as its Rust
/// code does: no final-sigma rule). Thread-safe (all methods const); the tokenizing methods
/// of a default-constructed tokenizer throw NotFitted.
/// Complexity: O(L * w) for a text of L code points and words of at most w code points.
class WordPieceTokenizer {
 public:
  WordPieceTokenizer();
  /// `vocab[i]` is the token of id i. Throws InvalidArgument when the vocabulary is empty,
  /// holds a duplicate, or lacks the unk/cls/sep/pad tokens.
  explicit WordPieceTokenizer(std::vector<std::string> vocab, TokenizerOptions options = {});
  ~WordPieceTokenizer();
  WordPieceTokenizer(const WordPieceTokenizer&);
  WordPieceTokenizer& operator=(const WordPieceTokenizer&);
  WordPieceTokenizer(WordPieceTokenizer&&) noexcept;
  WordPieceTokenizer& operator=(WordPieceTokenizer&&) noexcept;

  /// vocab.txt (one token per line) with the given options. Throws IoError.
  static WordPieceTokenizer from_vocab_file(const std::string& path, TokenizerOptions options = {});
  /// A Hugging Face tokenizer.json with a BertNormalizer, a BertPreTokenizer (or
  /// Whitespace-free equivalent) and a WordPiece model. Throws IoError, ModelFormatError.
  static WordPieceTokenizer from_tokenizer_json(const std::string& path);
  /// A model folder: tokenizer.json when present, else vocab.txt with the options of
  /// tokenizer_config.json (do_lower_case, strip_accents, tokenize_chinese_chars) and the
  /// special tokens of special_tokens_map.json. Throws IoError, ModelFormatError.
  static WordPieceTokenizer from_folder(const std::string& dir);

  /// The words after basic tokenization (normalised, split), special tokens kept verbatim.
  std::vector<std::string> basic_tokenize(std::string_view text) const;
  /// WordPiece tokens of `text` (no [CLS]/[SEP]).
  std::vector<std::string> tokenize(std::string_view text) const;
  /// [CLS] ids... [SEP]; with max_length > 0 the word pieces are cut to max_length - 2
  /// (sentence-transformers' truncation). Throws InvalidArgument for max_length == 1.
  std::vector<std::int32_t> encode(std::string_view text, std::size_t max_length = 0) const;
  /// encode() into `out` (cleared first); returns true when the text was truncated.
  bool encode_into(std::string_view text, std::size_t max_length, std::vector<std::int32_t>& out) const;

  std::size_t vocab_size() const noexcept;
  /// Id of a token, or nullopt.
  std::optional<std::int32_t> id(std::string_view token) const noexcept;
  /// Token of an id; throws InvalidArgument when out of range.
  const std::string& token(std::int32_t id) const;
  std::int32_t cls_id() const noexcept;
  std::int32_t sep_id() const noexcept;
  std::int32_t pad_id() const noexcept;
  std::int32_t unk_id() const noexcept;
  const TokenizerOptions& options() const noexcept;
  /// FNV-1a hash of the vocabulary and options (part of the embedding cache key).
  std::uint64_t fingerprint() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The tokenizer of a model folder, whichever of the supported kinds it is:
///   * WordPiece (BERT family): a WordPieceTokenizer, from tokenizer.json or vocab.txt;
///   * Unigram (XLM-RoBERTa's SentencePiece, read from tokenizer.json): added tokens split
///     out of the raw text, the normalizer (Sequence of Precompiled, NFC/NFD/NFKC/NFKD,
///     Replace, Strip, Lowercase, StripAccents; Precompiled is read as SentencePiece's
///     nmt_nfkc rule set: NFKC plus its control-character and space mappings), the
///     pre-tokenizer (Metaspace "▁", optionally after WhitespaceSplit), then the Viterbi
///     segmentation of each word over the pieces' log-probabilities, an uncovered
///     character scoring the lowest score minus 10, adjacent unknown characters fused
///     into one unknown token, <0xXX> byte pieces where the model has byte_fallback.
/// encode_into gives first ids... last with the post-processor's specials ([CLS]/[SEP] or
/// <s>/</s>), content cut to max_length - 2 as sentence-transformers truncates.
/// Thread-safe (const methods). Methods of a default-constructed Tokenizer throw NotFitted.
class Tokenizer {
 public:
  enum class Kind { wordpiece, unigram };
  Tokenizer();
  explicit Tokenizer(WordPieceTokenizer wordpiece);
  ~Tokenizer();
  Tokenizer(const Tokenizer&);
  Tokenizer& operator=(const Tokenizer&);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  /// A tokenizer.json of a WordPiece or Unigram model. Throws IoError, ModelFormatError
  /// (naming the file and the unsupported component).
  static Tokenizer from_tokenizer_json(const std::string& path);
  /// tokenizer.json when present, else WordPieceTokenizer::from_folder.
  static Tokenizer from_folder(const std::string& dir);

  Kind kind() const;
  /// Tokens of `text` (no specials added), as vocabulary strings.
  std::vector<std::string> tokenize(std::string_view text) const;
  /// first ids... last; see the class comment. Throws InvalidArgument for max_length == 1.
  std::vector<std::int32_t> encode(std::string_view text, std::size_t max_length = 0) const;
  /// encode() into `out`; true when the text was truncated.
  bool encode_into(std::string_view text, std::size_t max_length, std::vector<std::int32_t>& out) const;
  std::size_t vocab_size() const noexcept;
  std::optional<std::int32_t> id(std::string_view token) const noexcept;
  const std::string& token(std::int32_t id) const;
  /// The ids the post-processor puts first and last ([CLS]/[SEP], <s>/</s>), and padding's.
  std::int32_t first_id() const noexcept;
  std::int32_t last_id() const noexcept;
  std::int32_t pad_id() const noexcept;
  std::int32_t unk_id() const noexcept;
  /// The WordPiece tokenizer, or nullptr for another kind.
  const WordPieceTokenizer* wordpiece() const noexcept;
  std::uint64_t fingerprint() const noexcept;

  struct Unigram;

 private:
  Kind kind_ = Kind::wordpiece;
  std::shared_ptr<const WordPieceTokenizer> wordpiece_;
  std::shared_ptr<const Unigram> unigram_;
};

// ---------------------------------------------------------------------------
// Model folder
// ---------------------------------------------------------------------------

/// config.json of a BERT model (Hugging Face names).
struct BertConfig {
  std::size_t vocab_size = 30522;
  std::size_t hidden_size = 384;
  std::size_t num_hidden_layers = 6;
  std::size_t num_attention_heads = 12;
  std::size_t intermediate_size = 1536;
  std::size_t max_position_embeddings = 512;
  std::size_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::string hidden_act = "gelu";  // only the exact erf GELU ("gelu") is supported
  /// "bert", or "xlm-roberta" / "roberta": the same encoder with position ids counted
  /// from pad_token_id + 1 (position_offset) and one token type.
  std::string model_type = "bert";
  std::size_t pad_token_id = 0;
  std::size_t position_offset = 0;

  /// Parses config.json text; model_type must be "bert" (the default), "xlm-roberta" or
  /// "roberta". Throws
  /// ModelFormatError for missing/invalid fields (hidden_size not divisible by the heads,
  /// unsupported hidden_act or position_embedding_type, zero sizes).
  static BertConfig parse(std::string_view json_text, const std::string& name = "config.json");
  static BertConfig read(const std::string& path);
  std::size_t head_dim() const noexcept { return hidden_size / num_attention_heads; }
  /// The longest token sequence the position embeddings cover.
  std::size_t max_tokens() const noexcept { return max_position_embeddings - position_offset; }
};

/// sentence-transformers Pooling (1_Pooling/config.json). Several modes may be on; the
/// output is then their concatenation in the order cls, max, mean, mean_sqrt_len,
/// last_token (as sentence-transformers does). last_token is the final token's state
/// (the [SEP] or </s>).
struct PoolingConfig {
  bool cls = false;
  bool mean = true;
  bool max = false;
  bool mean_sqrt_len = false;
  bool last_token = false;
  std::size_t modes() const noexcept { return cls + mean + max + mean_sqrt_len + last_token; }
  /// "cls", "mean", "max", "mean_sqrt_len_tokens", "lasttoken" (sentence-transformers'
  /// pooling_mode names); nullopt for another name.
  static std::optional<PoolingConfig> from_name(std::string_view name);
};

/// What a model folder says, without the weights.
struct SentenceModelInfo {
  std::string dir;
  BertConfig bert;
  PoolingConfig pooling;
  bool normalize = false;           // modules.json has a Normalize module
  std::size_t max_seq_length = 128;  // sentence_bert_config.json, capped by max_position_embeddings
  bool do_lower_case = false;        // sentence_bert_config.json: lower-case before tokenizing
  std::string weights_path;          // <dir>/model.safetensors (checked for existence by load)
  /// config_sentence_transformers.json: named prompts put before each sentence (e5's
  /// "query" -> "query: "), and the one used when none is named ("" = none).
  std::map<std::string, std::string> prompts;
  std::string default_prompt_name;
  /// The prompt text for `name` ("" = the default prompt, if any). Throws ParameterError
  /// ("prompt") naming the prompts the model has when it has no prompt `name`.
  std::string prompt_text(const std::string& name) const;
  std::size_t dimension() const noexcept { return bert.hidden_size * pooling.modes(); }
};

/// Reads config.json, modules.json (optional; default BertModel + Pooling),
/// sentence_bert_config.json (optional), the Pooling folder's config.json (optional; mean
/// pooling by default; at least one mode; include_prompt false is refused),
/// config_sentence_transformers.json (optional: prompts). Does not touch the weights. Throws IoError when `dir` or
/// config.json is missing, ModelFormatError for malformed or unsupported files (a module
/// other than Transformer / Pooling / Normalize).
SentenceModelInfo read_model_info(const std::string& dir);

/// Throws IoError unless `dir` holds readable weights (<dir>/model.safetensors). The
/// message names the missing file, says what else the folder holds (e.g. only
/// pytorch_model.bin, or a Git LFS pointer instead of the weights) and where to get the
/// file: the Hugging Face repository of the model (sentence-transformers/
/// paraphrase-MiniLM-L6-v2 for the default model). Cheap: for failing fast in a CLI.
void check_model_weights(const std::string& dir);

/// Writes a loadable sentence-transformers folder whose weights are random: config.json
/// from `config`, modules.json (Transformer, Pooling, plus Normalize when `normalize`),
/// sentence_bert_config.json (max_seq_length), 1_Pooling/config.json, model.safetensors
/// (Hugging Face BertModel names, linear weights [out, in]) and the tokenizer files
/// (tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json) copied from
/// `tokenizer_dir` where present. Every weight is N(0, 0.05^2) (LayerNorm weights 1 + that),
/// drawn from Rng::stream(seed, tensor index), so a seed gives the same file everywhere.
/// For benchmarks and agreement tests: the vectors mean nothing. Throws IoError.
void write_random_model(const std::string& dir, const BertConfig& config, std::uint64_t seed,
                        const std::string& tokenizer_dir, std::size_t max_seq_length = 128,
                        PoolingConfig pooling = {}, bool normalize = false,
                        SafeTensorsDType dtype = SafeTensorsDType::f32);

// ---------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------

/// Arithmetic of the encoder's linear layers (the attention scores, softmax, LayerNorm,
/// GELU and pooling always run in fp32).
///   fp32  BLAS sgemm (OpenBLAS, one thread per batch);
///   bf16  weights and activations rounded to bfloat16, products accumulated in fp32
///         (AVX-512 BF16 VDPBF16PS, portable fallback otherwise);
///   int8  weights int8 per output channel (symmetric, codes -127..127), activations int8
///         per token (asymmetric: the token's range extended to 0, 255 steps, exact zero
///         point), exact int32 accumulation (AVX-512 VNNI VPDPBUSD, portable fallback with
///         identical results otherwise).
/// On the MiniLM-shaped random model and the 45,211 blog sentences, bf16 vectors agree with
/// fp32 at cosine >= 0.99998 and int8 at >= 0.9995 (bench/compare/embed_torch.py); real
/// weights with outlier activations may agree less, so check before switching a pipeline.
/// The fp32 path's elementwise functions: exp to 4e-7 relative, GELU's erf by Abramowitz &
/// Stegun 7.1.28 (|error| <= 5e-7 * max(1, |x|) in float); the tiny golden BERT is
/// reproduced to 4e-7 (pooled), a MiniLM-shaped one to 3e-6 against torch in fp64.
enum class EmbedPrecision { fp32, bf16, int8 };
std::string_view to_string(EmbedPrecision p) noexcept;
/// "fp32" / "f32" / "float32", "bf16" / "bfloat16", "int8" / "i8"; throws InvalidArgument naming `what`.
EmbedPrecision parse_embed_precision(std::string_view name, std::string_view what = "--precision");
/// Whether `p` runs on dedicated instructions here: fp32 always (BLAS), bf16 / int8 on the
/// AMX or AVX-512 kernels; false where the AVX2 or portable kernel emulates them.
bool embed_precision_accelerated(EmbedPrecision p) noexcept;
/// The linear-layer kernel `p` runs on with this CPU: "amx" (tile instructions),
/// "avx512-bf16", "avx512-vnni", "avx-vnni" (int8 on the 256-bit VPDPBUSD of AVX-VNNI),
/// "avx2" (AVX2 + FMA, the portable kernel's results),
/// "portable" (plain C++) or, for fp32, "sgemm" (BLAS).
/// SEGMENTA_NO_AMX=1 in the environment skips the tile kernels; SEGMENTA_EMBED_KERNEL=
/// portable, avx2, avx-vnni or avx512 caps the choice at that family.
std::string_view embed_precision_kernel(EmbedPrecision p) noexcept;

struct EncodeOptions {
  EmbedPrecision precision = EmbedPrecision::fp32;
  /// Sentences per batch. Batches are cut from the length-sorted sentences (longest first)
  /// independently of the thread count and are the unit of work of one thread (threads:
  /// segmenta::num_threads()); tokens are packed without padding, so padding costs nothing
  /// and the attention of a sentence only sees its own tokens. Must be >= 1.
  std::size_t batch_size = 32;
  /// L2-normalise the output; unset = as the model folder says (a Normalize module).
  std::optional<bool> normalize;
  /// Directory of the on-disk cache ("" = none): pooled vectors keyed by (model
  /// fingerprint incl. precision, sentence hash); created when missing.
  std::string cache_dir;
  /// Show a progress bar with sentences/s (when Progress is enabled and stderr is a terminal).
  bool progress = true;
  std::string progress_label = "embed";
  /// Name of a prompt of the model (config_sentence_transformers.json) put before every
  /// sentence; unset = the model's default prompt, if it names one; "" = no prompt.
  std::optional<std::string> prompt;
  /// The ranks of an MPI run (null or one rank: this process alone). Every rank calls
  /// encode with the same sentences and options; each runs only its share of the
  /// batches (whole batches of the one-process order, cut by rank_blocks) and the
  /// vectors are gathered so that every rank returns the one-process result, bit for
  /// bit. Every rank reads the cache and they check that they read the same file; rank
  /// 0 alone writes it. An error on any rank is every rank's (agree_on_failure).
  const Communicator* comm = nullptr;
};

/// What an encode call did.
struct EncodeStats {
  std::size_t sentences = 0;  // inputs
  std::size_t unique = 0;     // distinct texts
  std::size_t cached = 0;     // distinct texts found in the on-disk cache
  std::size_t encoded = 0;    // distinct texts run through the encoder
  std::size_t tokens = 0;     // tokens of the encoded texts ([CLS]/[SEP] included)
  std::size_t truncated = 0;  // encoded texts cut at max_seq_length (reported as a warning)
  double flops = 0.0;         // floating-point (or int8) operations of the encoder forward
  double seconds = 0.0;       // wall time of the call
  /// Distinct (token id, position) pairs whose layer-0 embedding and Q|K|V rows were
  /// computed once and shared by every token with that pair; 0 when the batch had too few
  /// repeats for it to pay. The vectors are the same either way.
  std::size_t layer0_pairs = 0;
  /// With several ranks (EncodeOptions::comm): the distinct texts each rank ran through
  /// the encoder (they add up to `encoded`), the seconds each spent on its batches, and
  /// the bytes this rank received with the other ranks' vectors. Empty / 0 otherwise.
  std::vector<std::size_t> encoded_by_rank;
  std::vector<double> seconds_by_rank;
  std::uint64_t bytes_received = 0;
};

/// A loaded sentence-transformers model. Cheap to copy (shared immutable state);
/// const methods are safe to call from several threads.
class SentenceEncoder {
 public:
  SentenceEncoder();
  ~SentenceEncoder();
  SentenceEncoder(const SentenceEncoder&);
  SentenceEncoder& operator=(const SentenceEncoder&);
  SentenceEncoder(SentenceEncoder&&) noexcept;
  SentenceEncoder& operator=(SentenceEncoder&&) noexcept;

  /// Loads a model folder (read_model_info + tokenizer + model.safetensors). Tensor names
  /// are Hugging Face BertModel's, with or without a "bert." prefix; the pooler and other
  /// extra tensors are ignored. Throws IoError (missing folder/files; see
  /// check_model_weights), ModelFormatError (malformed files, missing tensors, wrong shapes).
  static SentenceEncoder load(const std::string& dir);

  const SentenceModelInfo& info() const;
  const Tokenizer& tokenizer() const;
  /// Length of an output vector: hidden_size times the number of pooling modes.
  std::size_t dimension() const;
  /// Hash of the weights file, configuration and tokenizer (the cache key's model part).
  std::uint64_t fingerprint() const;

  /// Token ids of each sentence as the encoder sees them (model-level lower-casing, [CLS]/[SEP],
  /// truncation to max_seq_length).
  std::vector<std::vector<std::int32_t>> token_ids(const std::vector<std::string>& sentences,
                                                  const std::string& prompt = "") const;

  /// Sentence embeddings (n, dimension()): pooled, L2-normalised when requested. Identical
  /// texts are encoded once; results do not depend on the thread count (segmenta::
  /// set_num_threads) and, for bf16 and int8, not on how sentences are batched. An empty
  /// text encodes [CLS] [SEP]. Throws InvalidArgument (batch_size 0), IoError (cache dir).
  /// Complexity: O(sum over sentences of T * (L * H * (4H + 2F) + L * T * H)).
  MatrixF encode(const std::vector<std::string>& sentences, const EncodeOptions& options = {},
                 EncodeStats* stats = nullptr, Diagnostics* diagnostics = nullptr) const;
  /// encode() from token ids (each a full [CLS] ... [SEP] sequence). Throws InvalidArgument
  /// for an id outside the vocabulary or a sequence that is empty or longer than
  /// max_position_embeddings. Identical sequences are encoded once, so where distinct texts
  /// have distinct ids, token_ids(texts) gives encode(texts)'s vectors bit for bit. No cache.
  MatrixF encode_ids(const std::vector<std::vector<std::int32_t>>& ids, const EncodeOptions& options = {},
                     EncodeStats* stats = nullptr) const;
  /// The last hidden states (T, hidden_size) of one token sequence (for tests and tools).
  MatrixF hidden_states(const std::vector<std::int32_t>& ids, EmbedPrecision precision = EmbedPrecision::fp32) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

/// FLOPs of one forward pass over a sequence of T tokens (linear layers 2*T*H*(4H + 2F) per
/// layer plus attention 4*T*T*H per layer), the figure behind EncodeStats::flops.
double bert_forward_flops(const BertConfig& config, std::size_t tokens) noexcept;

// ---------------------------------------------------------------------------
// Row templates
// ---------------------------------------------------------------------------

/// The template of the blog's embedding_creation.py (an f-string over df columns).
std::string_view blog_template() noexcept;

/// A sentence template with {column} placeholders; "{{" and "}}" stand for literal braces.
/// Values are printed as pandas prints them inside an f-string: numbers by Column::text
/// (integers without a decimal point, other values in shortest round-trip form), strings
/// verbatim, missing values as "nan".
class RowTemplate {
 public:
  /// Parses `text`. Throws InvalidArgument ("template: ...") for an unmatched brace or an
  /// empty placeholder.
  explicit RowTemplate(std::string text);
  /// "blog" gives blog_template(); anything else is template text.
  static RowTemplate resolve(std::string_view spec);

  const std::string& text() const noexcept { return text_; }
  /// Distinct placeholder names in order of first appearance.
  std::vector<std::string> columns() const;
  /// Throws InvalidArgument naming the first placeholder that is not a column of `table`.
  void check(const Table& table) const;
  /// The sentence of one row (check() first; row < table.rows()).
  std::string render(const Table& table, std::size_t row) const;
  /// The sentences of all rows. Throws InvalidArgument as check().
  std::vector<std::string> render(const Table& table) const;

 private:
  struct Piece {
    std::string literal;  // text before the placeholder
    std::string column;   // "" for the trailing literal
  };
  std::string text_;
  std::vector<Piece> pieces_;
};

}  // namespace segmenta
