using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Ips.Configuration;
using Ips.Encoders;
using Ips.Imaging;
using Ips.Slides.Tiling;

namespace Ips.Data.OwnImages;

/// <summary>What <see cref="StartingConfig.Draft"/> found in the data and chose, for the summary a user reads.</summary>
/// <param name="Yaml">The commented config text.</param>
/// <param name="Listing">The data's layout, classes and listing problems.</param>
/// <param name="Problems">Every problem: the listing's and the images that cannot be decoded.</param>
/// <param name="Summary">Lines for the user: classes and counts per split, sizes, channels, bit depths, the choices.</param>
public sealed record DraftedConfig(string Yaml, OwnImageListing Listing, IReadOnlyList<DataProblem> Problems, IReadOnlyList<string> Summary);

/// <summary>
/// <c>ips config init</c>: a starting config for your own images, drafted from what the data holds (docs/own-data.md).
/// Every image is decoded once; the choices follow the paper's configs, scaled to the data: patches of about an
/// eighth of the typical shorter side (a multiple of 16, 32 to 256 pixels) unless given, M a tenth of the typical
/// N (at least 2, at most the smallest N, so selection never needs padding), I four times M (16 to 128), and B from
/// an estimate of the gradient pass's memory (M patches per image through the encoder) against a quarter of this
/// machine's memory (at most 16, and at most a quarter of the training images). Whole slides (<see cref="OwnSlides"/>)
/// are opened, not decoded: tiles of the coordinates files' size (or 256 pixels), M a fiftieth of the typical
/// number of tiles (2 to 32, at most the smallest), lazy loading one slide at a time, no augmentation.
/// </summary>
public static class StartingConfig
{
    // Activation memory of a training forward/backward per input pixel, estimated from torchvision's ResNets at 224 x 224
    // (about 25 MB per image for resnet18, 100 MB for resnet50, cut after layer4).
    private static readonly Dictionary<string, double> BytesPerPixel = new() { ["resnet18"] = 500, ["resnet50"] = 2000 };

    // The tile side CAMELYON16's tiling and the slide tools default to.
    private const int SlideTileSize = 256;

    /// <summary>The encoders <c>--encoder</c> takes.</summary>
    public static IReadOnlyCollection<string> Encoders => BytesPerPixel.Keys;

    /// <summary>Drafts a config for the data in <paramref name="dataDir"/>.</summary>
    /// <param name="dataDir">Class folders or a labels.csv (docs/own-data.md).</param>
    /// <param name="encoder">resnet18 (ImageNet weights ship with the project) or resnet50.</param>
    /// <param name="patchSize">The patch side in pixels, or null to choose it from the typical image size (for slides: the coordinates files' tile size, else 256).</param>
    /// <param name="coordsDir">For slides, the folder of <c>ips slides tile</c> coordinates files (<c>coords_dir</c>), or null for every tile of level 0's grid.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="ArgumentException">The folder holds neither layout, holds both images and slides, or nothing in it can be read.</exception>
    public static DraftedConfig Draft(string dataDir, string encoder, int? patchSize, string? coordsDir = null)
    {
        ArgumentNullException.ThrowIfNull(dataDir);
        if (!Directory.Exists(dataDir))
        {
            throw new DirectoryNotFoundException($"{dataDir}: data folder not found");
        }
        if (!OwnImageListing.Holds(dataDir))
        {
            throw new ArgumentException($"{dataDir}: holds neither class folders (train/<class>/*, test/<class>/*) nor a {OwnImageListing.LabelsFile} (path,label,split); see docs/own-data.md.");
        }
        if (!BytesPerPixel.ContainsKey(encoder))
        {
            throw new ArgumentException($"--encoder {encoder}: expected {string.Join(" or ", BytesPerPixel.Keys)}.");
        }
        var probe = new IpsConfig { DataDir = dataDir, Tasks = TasksOf(dataDir), CoordsDir = coordsDir is null ? null : Path.GetFullPath(coordsDir) };
        var listing = OwnImageListing.Read(probe);
        var slides = listing.Entries.Where(e => OwnSlides.IsSlide(probe, Path.Combine(dataDir, e.Path))).ToList();
        if (slides.Count > 0 && slides.Count < listing.Entries.Count)
        {
            var image = listing.Entries.First(e => !slides.Contains(e));
            throw new ArgumentException(
                $"{dataDir}: holds both whole slides ({slides.Count}, such as {slides[0].Path}) and images ({listing.Entries.Count - slides.Count}, such as {image.Path}); " +
                "a config reads slides tile by tile and decodes images whole, so draft one for each kind in folders of their own.");
        }
        return slides.Count > 0 ? DraftSlides(dataDir, encoder, patchSize, probe, listing) : DraftImages(dataDir, encoder, patchSize, probe, listing);
    }

    private static DraftedConfig DraftImages(string dataDir, string encoder, int? patchSize, IpsConfig probe, OwnImageListing listing)
    {
        var problems = listing.Problems.ToList();
        var headers = new ConcurrentDictionary<string, (int Width, int Height, int Channels, int Bits)>();
        var unreadable = new ConcurrentBag<DataProblem>();
        Parallel.ForEach(listing.Entries, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(Environment.ProcessorCount, 4) }, entry =>
        {
            var path = Path.Combine(dataDir, entry.Path);
            try
            {
                var header = ImageFile.Describe(path);
                using var pixels = ImageFile.Load(path, header.Channels);
                headers[entry.Path] = header;
            }
            catch (Exception error) when (error is InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException)
            {
                var message = error.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? error.Message[(path.Length + 2)..] : error.Message;
                unreadable.Add(new DataProblem(entry.Path, $"unreadable image: {message}", entry.Train));
            }
        });
        problems.AddRange(unreadable.OrderBy(p => p.Where, StringComparer.Ordinal));
        var images = headers.Values.ToList();
        if (images.Count == 0)
        {
            throw new ArgumentException($"{dataDir}: no image could be read ({problems.Count} problem(s), the first: {problems.FirstOrDefault()?.ToString() ?? "no images listed"}).");
        }

        var channels = images.Any(i => i.Channels == 3) ? 3 : 1;
        var shorter = Median(images.Select(i => Math.Min(i.Width, i.Height)));
        var patch = patchSize ?? Math.Clamp((int)Math.Round(shorter / 8.0 / 16) * 16, 32, 256);
        int Patches(int height, int width) => Cover(height, patch) * Cover(width, patch);
        var counts = images.Select(i => Patches(i.Height, i.Width)).ToList();
        var (minN, typicalN, maxN) = (counts.Min(), Median(counts), counts.Max());
        var m = Math.Min(minN, Math.Max(2, (int)Math.Round(typicalN / 10.0)));
        var i = Math.Clamp(4 * m, 16, 128);
        var sameSize = images.Select(x => (x.Width, x.Height)).Distinct().Count() == 1;
        var b = BatchSize(encoder, patch, m, listing);
        var type = EncoderRegistry.ResNet(encoder);
        var pretrained = channels == 3 && type.PackagedWeights;
        var tasks = TasksWithClasses(probe, listing);

        var yaml = Yaml(dataDir, encoder, type.WidthAfter(4), pretrained, channels, patch, m, i, b, sameSize, tasks, (minN, typicalN, maxN), images.Count, null);
        ConfigLoader.Parse(yaml, "config init"); // what is written always loads

        var summary = SummaryStart(dataDir, listing, tasks, "images");
        summary.Add(string.Create(CultureInfo.InvariantCulture,
            $"images: {images.Count} readable, width {images.Min(x => x.Width)}..{images.Max(x => x.Width)}, height {images.Min(x => x.Height)}..{images.Max(x => x.Height)} pixels; " +
            $"{string.Join(", ", images.GroupBy(x => x.Channels == 1 ? "grey" : "colour").Select(g => $"{g.Count()} {g.Key}"))}; " +
            $"{string.Join(", ", images.GroupBy(x => x.Bits).OrderBy(g => g.Key).Select(g => $"{g.Count()} of {g.Key} bits"))}"));
        summary.Add(string.Create(CultureInfo.InvariantCulture,
            $"chosen: {encoder} ({(pretrained ? "ImageNet weights" : "trained from scratch")}), patches {patch} x {patch}, N {minN}..{maxN} (typically {typicalN}), M {m}, I {i}, B {b}, {(sameSize ? "eager" : "eager sequential (B_seq 1): the images differ in size")}"));
        return new DraftedConfig(yaml, listing, problems, WithNotes(summary, listing));
    }

    // Slides are opened, not decoded: their level-0 sizes and tile counts decide the patch size and M.
    private static DraftedConfig DraftSlides(string dataDir, string encoder, int? patchSize, IpsConfig probe, OwnImageListing listing)
    {
        var patch = patchSize ?? CoordsTileSize(probe, listing) ?? SlideTileSize;
        var config = probe with { PatchSize = [patch, patch], PatchStride = [patch, patch] };
        var surveys = new ConcurrentDictionary<string, SlideSurvey>();
        Parallel.ForEach(listing.Entries, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(Environment.ProcessorCount, 4) },
            entry => surveys[entry.Path] = OwnSlides.Survey(config, Path.Combine(dataDir, entry.Path)));
        var problems = listing.Problems.Concat(listing.Entries
            .Where(e => surveys[e.Path].Problem is not null)
            .Select(e => new DataProblem(e.Path, surveys[e.Path].Problem!, e.Train))
            .OrderBy(p => p.Where, StringComparer.Ordinal)).ToList();
        var slides = surveys.Values.Where(s => s.Problem is null && s.Tiles > 0).ToList();
        if (slides.Count == 0)
        {
            throw new ArgumentException($"{dataDir}: no slide could be used ({problems.Count} problem(s), the first: {problems.FirstOrDefault()?.ToString() ?? "no slides listed"}).");
        }

        var (minN, typicalN, maxN) = (slides.Min(s => s.Tiles), Median(slides.Select(s => s.Tiles)), slides.Max(s => s.Tiles));
        // Few of a slide's many tiles carry its label (the paper's CAMELYON16 config keeps 5): M a fiftieth of the typical N.
        var m = Math.Min(minN, Math.Clamp((int)Math.Round(typicalN / 50.0), 2, 32));
        var i = Math.Clamp(4 * m, 16, 128);
        var b = BatchSize(encoder, patch, m, listing);
        var type = EncoderRegistry.ResNet(encoder);
        var pretrained = type.PackagedWeights;
        var tasks = TasksWithClasses(probe, listing);

        var yaml = Yaml(dataDir, encoder, type.WidthAfter(4), pretrained, 3, patch, m, i, b, sameSize: false, tasks, (minN, typicalN, maxN), slides.Count, new SlideKeys(config.CoordsDir));
        ConfigLoader.Parse(yaml, "config init"); // what is written always loads

        var summary = SummaryStart(dataDir, listing, tasks, "slides");
        summary.Add(string.Create(CultureInfo.InvariantCulture,
            $"slides: {slides.Count} usable, level 0 width {slides.Min(s => s.Width)}..{slides.Max(s => s.Width)}, height {slides.Min(s => s.Height)}..{slides.Max(s => s.Height)} pixels; " +
            $"tiles of {patch} x {patch} {(config.CoordsDir is null ? "on level 0's whole grid (give --coords-dir for tissue tiles only)" : "from the coordinates files in " + config.CoordsDir)}"));
        summary.Add(string.Create(CultureInfo.InvariantCulture,
            $"chosen: {encoder} ({(pretrained ? "ImageNet weights" : "trained from scratch")}), N {minN}..{maxN} tiles (typically {typicalN}), M {m}, I {i}, B {b}, lazy (eager: False, B_seq 1): tiles are read from disk as selection asks for them"));
        return new DraftedConfig(yaml, listing, problems, WithNotes(summary, listing));
    }

    // The tile size of the first coordinates file there is, so that a draft fits the tiling done.
    private static int? CoordsTileSize(IpsConfig probe, OwnImageListing listing)
    {
        if (OwnSlides.CoordsFolder(probe) is not { } folder)
        {
            return null;
        }
        foreach (var entry in listing.Entries)
        {
            var file = SlideTilingJob.CoordsPath(folder, entry.Path);
            if (File.Exists(file))
            {
                try
                {
                    return TileCoordsFile.Read(file).Info.PatchSize;
                }
                catch (InvalidDataException)
                {
                    // The survey lists the unreadable file as a problem; another file may still tell the size.
                }
            }
        }
        return null;
    }

    // B from an estimate of the gradient pass's memory (M patches per image through the encoder) against a quarter of
    // this machine's memory, at most 16, and at least four optimiser steps per epoch on a small set.
    private static int BatchSize(string encoder, int patch, int m, OwnImageListing listing)
    {
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var perImage = m * (double)patch * patch * BytesPerPixel[encoder];
        return Math.Clamp(Math.Min((int)(memory / 4 / perImage), listing.Entries.Count(e => e.Train) / 4), 1, 16);
    }

    private static List<TaskConfig> TasksWithClasses(IpsConfig probe, OwnImageListing listing) =>
        [.. probe.Tasks.Select(t => t with { NClass = listing.Classes[t.Name].Count, Classes = listing.Classes[t.Name] })];

    private static List<string> SummaryStart(string dataDir, OwnImageListing listing, List<TaskConfig> tasks, string unit)
    {
        var summary = new List<string>
        {
            $"data {Path.GetFullPath(dataDir)} ({listing.Layout}): {listing.Entries.Count(e => e.Train)} training, {listing.Entries.Count(e => !e.Train)} test {unit}",
        };
        foreach (var task in tasks)
        {
            summary.Add($"task {task.Name} ({task.ActFn}): " + string.Join(", ", task.Classes!.Select(name => string.Create(CultureInfo.InvariantCulture,
                $"{name} {listing.Entries.Count(e => e.Train && e.Labels[task.Name].Contains(name))} train / {listing.Entries.Count(e => !e.Train && e.Labels[task.Name].Contains(name))} test"))));
        }
        return summary;
    }

    private static List<string> WithNotes(List<string> summary, OwnImageListing listing)
    {
        foreach (var (task, name) in listing.ClassesWithoutTestImages())
        {
            summary.Add($"note: class '{name}' of task {task} has no test images, so its test accuracy cannot be measured");
        }
        return summary;
    }

    // What a config of slides says differently: lazy loading, coords_dir, no augmentation.
    private sealed record SlideKeys(string? CoordsDir);

    // Folders: one softmax task. labels.csv: `label` as task `label`, and one task per further column, sigmoid where a
    // cell holds several names separated by ';'.
    private static List<TaskConfig> TasksOf(string dataDir)
    {
        var csv = Path.Combine(dataDir, OwnImageListing.LabelsFile);
        var names = new List<(string Name, bool Sigmoid)> { ("label", false) };
        if (File.Exists(csv))
        {
            var lines = File.ReadAllLines(csv).Where(l => l.Trim().Length > 0).ToList();
            var header = lines.Count == 0 ? [] : OwnImageListing.CsvFields(lines[0]).Select(h => h.Trim()).ToList();
            var rows = lines.Skip(1).Select(OwnImageListing.CsvFields).ToList();
            names.AddRange(header.Where(h => h is not ("path" or "label" or "split") && h.Length > 0)
                .Select(h => (h, rows.Any(r => r.Count == header.Count && r[header.IndexOf(h)].Contains(';', StringComparison.Ordinal)))));
        }
        return [.. names.Select((task, index) => new TaskConfig
        {
            Key = $"task{index}", Id = index, Name = task.Name, ActFn = task.Sigmoid ? "sigmoid" : "softmax",
            Metric = task.Sigmoid ? "multilabel_accuracy" : "accuracy", NClass = 0,
        })];
    }

    private static string Yaml(string dataDir, string encoder, int width, bool pretrained, int channels, int patch, int m, int i, int b,
        bool sameSize, List<TaskConfig> tasks, (int Min, int Typical, int Max) n, int images, SlideKeys? slides)
    {
        string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        var unit = slides is null ? "images" : "slides";
        Line($"# Drafted by `ips config init` from {images} {unit} in {Path.GetFullPath(dataDir)}; keys as in the official configs, see docs/own-data.md.");
        Line($"");
        Line($"# optimisation");
        Line($"n_epoch: 30           # training epochs");
        Line($"B: {b}                 # {unit} per optimiser step: what a quarter of this machine's memory holds for the gradient pass ({m} patches of {patch} x {patch} each through {encoder})");
        Line($"B_seq: {(sameSize ? b : 1)}             # {unit} selected at once: {(sameSize ? "B (eager: all images have one size)" : slides is null ? "1 (eager sequential: each image has its own size and patch grid)" : "1 (each slide has its own number of tiles)")}");
        Line($"n_epoch_warmup: 3     # epochs of linear learning-rate warm-up, then a cosine decay to 0.001 lr");
        Line($"lr: 0.0003            # peak learning rate (the traffic-sign config's)");
        Line($"wd: 0.1               # AdamW weight decay");
        Line($"");
        Line($"# data");
        Line($"n_class: {tasks[0].NClass}            # classes of the first task (listed under tasks)");
        Line($"data_dir: {Quote(Path.GetFullPath(dataDir))}");
        Line($"n_worker: 2           # background {unit}-loading workers");
        Line($"normalize: '{(pretrained ? "imagenet" : "none")}'   # {(pretrained ? "ImageNet mean/std, as the pretrained encoder expects" : "pixels in [0, 1]")}");
        if (slides is null)
        {
            Line($"eager: True           # images in memory; only the selected patches go through the gradient pass");
            Line($"# image_size: [1200, 1600]   # uncomment to resize every image to [height, width] (antialiased); left out, each keeps its size");
            Line($"aug_flip: True        # random horizontal and vertical flips in training");
            Line($"aug_rot90: False      # random 90-degree rotations; True for images without an up (inspection, satellite)");
            Line($"aug_color_jitter: {(channels == 3 ? "0.1" : "0.0")}   # colour jitter strength (brightness, contrast, saturation, hue), 0 for none");
            Line($"aug_translate: 0.05   # random shift up to this fraction of the width and height, 0 for none");
        }
        else
        {
            Line($"eager: False          # lazy: tiles are read from disk as selection asks for them, never the whole slide");
            Line($"# the aug_* keys transform whole images and do not apply to slides: their tiles are read as they are");
            Line(slides.CoordsDir is { } coords
                ? (FormattableString)$"coords_dir: {Quote(coords)}   # NAME.h5 per slide from `ips slides tile`: its tissue tiles are the slide's patches"
                : $"# coords_dir: 'coords'   # NAME.h5 per slide from `ips slides tile --out coords`; left out, every tile of level 0's grid");
        }
        Line($"");
        Line($"# misc");
        Line($"seed: 0");
        Line($"");
        Line($"# patch encoder");
        Line($"is_image: True");
        Line($"enc_type: '{encoder}'");
        Line($"pretrained: {(pretrained ? "True" : "False")}     # {(pretrained ? "ImageNet weights packaged with ips" : channels == 1 ? "grey images: a fresh first convolution" : "no weights ship for this encoder: set pretrained_weights to torchvision's file to start from ImageNet")}");
        Line($"n_chan_in: {channels}          # {(slides is not null ? "RGB tiles" : channels == 3 ? "RGB (grey images are repeated into three channels)" : "grey")}");
        Line($"n_res_blocks: 4       # all four ResNet stages");
        Line($"");
        Line($"# iterative patch selection");
        Line($"shuffle: True");
        Line($"shuffle_style: 'batch'");
        Line($"n_token: {tasks.Count}");
        Line($"# N is left out: it varies from {unit[..^1]} to {unit[..^1]}, {n.Min}..{n.Max} patches (typically {n.Typical})");
        Line($"M: {m}                 # patches kept per {unit[..^1]} (memory); at most the smallest {unit[..^1]}'s N");
        Line($"I: {i}                # patches scored per step of the selection");
        Line($"patch_size: [{patch}, {patch}]");
        Line($"patch_stride: [{patch}, {patch}]");
        Line($"");
        Line($"# aggregation transformer");
        Line($"use_pos: False        # no positional encoding: N differs from {unit[..^1]} to {unit[..^1]}");
        Line($"H: 8");
        Line($"D: {width}              # the encoder's output width");
        Line($"D_k: 64");
        Line($"D_v: 64");
        Line($"D_inner: {4 * width}");
        Line($"attn_dropout: 0.1");
        Line($"dropout: 0.1");
        Line($"");
        Line($"tasks:");
        foreach (var task in tasks)
        {
            Line($"  {task.Key}:");
            Line($"    id: {task.Id}");
            Line($"    name: {Quote(task.Name)}");
            Line($"    act_fn: '{task.ActFn}'");
            Line($"    metric: '{task.Metric}'");
            Line($"    n_class: {task.NClass}");
            Line($"    classes: [{string.Join(", ", task.Classes!.Select(Quote))}]   # in output order");
        }
        return text.ToString();
    }

    private static int Cover(int length, int patch) => length <= patch ? 1 : (length - patch + patch - 1) / patch + 1;

    private static int Median(IEnumerable<int> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
