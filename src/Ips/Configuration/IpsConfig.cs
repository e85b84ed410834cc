namespace Ips.Configuration;

/// <summary>
/// One task of a (multi-task) model: which query token it reads, its output activation and its metric.
/// Mirrors an entry under <c>tasks:</c> in the official YAML configs.
/// </summary>
public sealed record TaskConfig
{
    /// <summary>The YAML key of the task (e.g. <c>task0</c>).</summary>
    public required string Key { get; init; }

    /// <summary>Index of the transformer output token this task's head reads (<c>id</c>).</summary>
    public required int Id { get; init; }

    /// <summary>Task name; also the name of its output layer in a state_dict (<c>name</c>).</summary>
    public required string Name { get; init; }

    /// <summary><c>softmax</c> or <c>sigmoid</c> (<c>act_fn</c>).</summary>
    public required string ActFn { get; init; }

    /// <summary><c>accuracy</c>, <c>multilabel_accuracy</c> or <c>auc</c> (<c>metric</c>).</summary>
    public required string Metric { get; init; }

    /// <summary>Number of outputs of this task's head (<c>n_class</c> of the task; the config's <c>n_class</c> when absent).</summary>
    public required int NClass { get; init; }

    /// <summary>
    /// <c>classes</c> (this implementation's addition): the name of each output, in output order, so that evaluation
    /// and prediction speak of classes by name; recorded by training from a data set that names them (your own
    /// images, docs/own-data.md); null where the data set has none (the paper's data sets).
    /// </summary>
    public IReadOnlyList<string>? Classes { get; init; }

    /// <summary>The name of output <paramref name="index"/>: its class name, or the index as text where none is recorded.</summary>
    public string ClassName(int index) =>
        Classes is { } names && index >= 0 && index < names.Count ? names[index] : index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True for <c>act_fn: softmax</c>.</summary>
    public bool IsSoftmax => ActFn == "softmax";
}

/// <summary>
/// A training/inference configuration with the official implementation's keys (docs/design.md). Property names are
/// the C# spelling of the YAML keys, given in each summary; <c>ConfigLoader</c> reads and validates them.
/// </summary>
public sealed record IpsConfig
{
    /// <summary>Path of the file this config came from, for error messages; empty when built in code.</summary>
    public string Source { get; init; } = "";

    // ---- optimisation ----

    /// <summary><c>n_epoch</c>: number of epochs.</summary>
    public int NEpoch { get; init; } = 150;

    /// <summary><c>B</c>: batch size.</summary>
    public int B { get; init; } = 16;

    /// <summary><c>B_seq</c>: images put on the device at once; <c>B</c> (eager, lazy) or 1 (eager sequential).</summary>
    public int BSeq { get; init; } = 16;

    /// <summary>
    /// <c>n_epoch_warmup</c>: epochs of linear learning-rate warm-up; may be fractional (0.25 = a quarter of the
    /// first epoch), as the official code multiplies it by the loader length.
    /// </summary>
    public double NEpochWarmup { get; init; } = 10;

    /// <summary><c>lr</c>: peak learning rate.</summary>
    public double Lr { get; init; } = 1e-3;

    /// <summary><c>wd</c>: AdamW weight decay.</summary>
    public double Wd { get; init; } = 0.1;

    // ---- data ----

    /// <summary><c>n_class</c>: default number of classes of every task head.</summary>
    public int NClass { get; init; } = 10;

    /// <summary><c>data_dir</c>: directory of the dataset.</summary>
    public string DataDir { get; init; } = "";

    /// <summary><c>train_fname</c>: file of the training set inside <see cref="DataDir"/> (feature datasets).</summary>
    public string? TrainFname { get; init; }

    /// <summary><c>test_fname</c>: file of the test set inside <see cref="DataDir"/> (feature datasets).</summary>
    public string? TestFname { get; init; }

    /// <summary>
    /// <c>labels_csv</c> (this implementation's addition): for pre-extracted features stored one HDF5 file per slide
    /// (CLAM/TRIDENT <c>features</c> + <c>coords</c>) in <see cref="DataDir"/>, a CSV with the header
    /// <c>slide_id,label</c> and an optional <c>split</c> column (<c>train</c>/<c>test</c>); relative to <see cref="DataDir"/>.
    /// When set it takes the place of <see cref="TrainFname"/> and <see cref="TestFname"/>.
    /// </summary>
    public string? LabelsCsv { get; init; }

    /// <summary>
    /// <c>test_preprocessing</c> (this implementation's addition): how a photo becomes the model's input at prediction
    /// time, as the data set the model was trained on prepared its test images: <c>traffic</c> (resized to the model's
    /// geometry and ImageNet-normalised, the traffic-sign data set) or <c>none</c> (pixels in [0, 1] as they are,
    /// Megapixel MNIST). Training records it from the data set in <see cref="DataDir"/>, so that prediction does not
    /// depend on that data set being present; null in a config that does not record it (written before it existed,
    /// or a feature config, which has no images to prepare).
    /// </summary>
    public string? TestPreprocessing { get; init; }

    /// <summary>
    /// <c>feature_encoder</c> (this implementation's addition): the file name of the tile encoder whose features a
    /// feature model was trained on, as the packed or per-slide feature files record it; recorded by training, null
    /// where the features record no encoder (or for an image config).
    /// </summary>
    public string? FeatureEncoder { get; init; }

    /// <summary>
    /// <c>feature_encoder_sha256</c>: the SHA-256 of that encoder's weights file, which prediction with <c>--encoder</c>
    /// compares with the encoder it is given, so that a model never reads another encoder's features.
    /// </summary>
    public string? FeatureEncoderSha256 { get; init; }

    /// <summary>
    /// <c>feature_encoder_pool</c>: how that encoder pooled a vision transformer's tokens (<c>token</c>, <c>avg</c>,
    /// <c>token+avg</c>), as the features record it; prediction refuses features or an <c>--encoder</c> pooled
    /// otherwise, since the same weights pooled another way give other numbers. Null for a ResNet or BYOL encoder.
    /// </summary>
    public string? FeatureEncoderPool { get; init; }

    /// <summary>
    /// <c>image_size</c> (this implementation's addition): <c>[height, width]</c> every image of your own data set
    /// (docs/own-data.md) is resized to, with the traffic set's antialiased resize; null keeps each image's own size,
    /// and each image gets its own patch grid.
    /// </summary>
    public int[]? ImageSize { get; init; }

    /// <summary>
    /// <c>normalize</c> (this implementation's addition): <c>imagenet</c> (mean/std of ImageNet, for a pretrained
    /// encoder on RGB) or <c>none</c> (pixels in [0, 1]); used by your own images (docs/own-data.md).
    /// </summary>
    public string Normalize { get; init; } = "none";

    /// <summary><c>aug_flip</c> (this implementation's addition): random horizontal and vertical flips in training.</summary>
    public bool AugFlip { get; init; }

    /// <summary><c>aug_rot90</c> (this implementation's addition): random rotations by a multiple of 90 degrees in training.</summary>
    public bool AugRot90 { get; init; }

    /// <summary>
    /// <c>aug_color_jitter</c> (this implementation's addition): strength of the colour jitter in training, as
    /// torchvision's <c>ColorJitter(j, j, j, j)</c> (the traffic set's 0.1); 0 for none. Grey images get brightness and contrast only.
    /// </summary>
    public double AugColorJitter { get; init; }

    /// <summary>
    /// <c>aug_translate</c> (this implementation's addition): the largest random shift in training, as a fraction of
    /// the image's width and height (the traffic set's is about 0.07); 0 for none. The uncovered border is black.
    /// </summary>
    public double AugTranslate { get; init; }

    /// <summary>
    /// <c>coords_dir</c> (this implementation's addition): for whole slides in your own data set (docs/own-data.md),
    /// the folder of tile coordinates files that <c>ips slides tile</c> wrote, <c>NAME.h5</c> per slide, whose tissue
    /// tiles are the slide's patches; relative to <see cref="DataDir"/>. Null: every tile of the slide's level-0 grid.
    /// </summary>
    public string? CoordsDir { get; init; }

    /// <summary><c>n_worker</c>: background data-preparation workers.</summary>
    public int NWorker { get; init; } = 2;

    /// <summary><c>pin_memory</c>: accepted for compatibility; TorchSharp has no pinned-memory loader.</summary>
    public bool PinMemory { get; init; }

    /// <summary><c>eager</c>: whole images on the device (true) or only the current chunk (false, lazy).</summary>
    public bool Eager { get; init; } = true;

    // ---- misc ----

    /// <summary><c>eps</c>: added to probabilities before the log in the NLL loss.</summary>
    public double Eps { get; init; } = 1e-6;

    /// <summary><c>seed</c>: random seed.</summary>
    public int Seed { get; init; }

    /// <summary><c>track_efficiency</c>: measure time per iteration and peak memory.</summary>
    public bool TrackEfficiency { get; init; }

    /// <summary><c>track_epoch</c>: the epoch at which efficiency is measured.</summary>
    public int TrackEpoch { get; init; }

    // ---- encoder ----

    /// <summary><c>is_image</c>: convolutional patch encoder (true) or feature projector (false).</summary>
    public bool IsImage { get; init; } = true;

    /// <summary><c>enc_type</c>: a ResNet of <see cref="Encoders.EncoderRegistry"/> (<c>resnet18</c>, <c>resnet50</c>).</summary>
    public string EncType { get; init; } = "resnet18";

    /// <summary><c>pretrained</c>: start the encoder from ImageNet weights.</summary>
    public bool Pretrained { get; init; }

    /// <summary>
    /// <c>pretrained_weights</c> (this implementation's addition): path of a torchvision ImageNet state_dict
    /// (.pth/.pt/.safetensors) used when <see cref="Pretrained"/> is true; when absent, resnet18 uses the packaged
    /// ImageNet ResNet-18 (Ips.Encoders.PretrainedWeights).
    /// </summary>
    public string? PretrainedWeights { get; init; }

    /// <summary><c>n_chan_in</c>: image channels, or feature width for pre-extracted features.</summary>
    public int NChanIn { get; init; } = 1;

    /// <summary><c>n_res_blocks</c>: ResNet stages kept, 2 or 4.</summary>
    public int NResBlocks { get; init; } = 4;

    // ---- IPS ----

    /// <summary><c>shuffle</c>: shuffle patch order before selection so ties break at random.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary><c>shuffle_style</c>: <c>batch</c> (same permutation for the batch) or <c>instance</c>.</summary>
    public string ShuffleStyle { get; init; } = "batch";

    /// <summary>
    /// <c>selection_dtype</c> (this implementation's addition): <c>float32</c>, or <c>bfloat16</c> to run the patch
    /// encoder of the no-grad selection pass in bfloat16 (the scores, the memory buffer and training stay float32).
    /// </summary>
    public string SelectionDtype { get; init; } = "float32";

    /// <summary><c>n_token</c>: learnable query tokens.</summary>
    public int NToken { get; init; } = 1;

    /// <summary><c>N</c>: patches per image; null for feature datasets whose N varies.</summary>
    public int? N { get; init; }

    /// <summary><c>M</c>: memory size (patches selected).</summary>
    public int M { get; init; } = 100;

    /// <summary><c>I</c>: iteration (chunk) size.</summary>
    public int I { get; init; } = 100;

    /// <summary><c>patch_size</c>: [height, width] of a patch; null for feature datasets.</summary>
    public int[]? PatchSize { get; init; }

    /// <summary><c>patch_stride</c>: [height, width] step between patches; null for feature datasets.</summary>
    public int[]? PatchStride { get; init; }

    // ---- aggregator ----

    /// <summary><c>use_pos</c>: add 1-D sinusoidal positional encoding.</summary>
    public bool UsePos { get; init; }

    /// <summary><c>H</c>: attention heads.</summary>
    public int H { get; init; } = 8;

    /// <summary><c>D</c>: embedding width.</summary>
    public int D { get; init; } = 128;

    /// <summary><c>D_k</c>: query/key width per head.</summary>
    public int DK { get; init; } = 16;

    /// <summary><c>D_v</c>: value width per head.</summary>
    public int DV { get; init; } = 16;

    /// <summary><c>D_inner</c>: hidden width of the transformer MLP.</summary>
    public int DInner { get; init; } = 512;

    /// <summary><c>attn_dropout</c>: dropout on attention weights.</summary>
    public double AttnDropout { get; init; } = 0.1;

    /// <summary><c>dropout</c>: dropout after the attention projection and the MLP.</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary><c>tasks</c>: the tasks, in YAML order.</summary>
    public IReadOnlyList<TaskConfig> Tasks { get; init; } = Array.Empty<TaskConfig>();
}
