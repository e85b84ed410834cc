using System.Globalization;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace Ips.Tests.Data.Traffic;

/// <summary>
/// Writes a small data set in the STS format: <c>Set1</c> and <c>Set2</c>, each with JPEG street-like photos and an
/// <c>annotations.txt</c>. A photo of class 50, 70 or 80 shows one round "sign" (a disc with a class-specific
/// colour) in a random place; EMPTY photos show none; each set also has photos that the official filter drops (only
/// other signs, or a speed limit that is not VISIBLE), and MISC_SIGNS entries.
/// </summary>
internal static class StsTestData
{
    private static readonly Dictionary<string, SKColor> SignColors = new()
    {
        ["50_SIGN"] = new SKColor(230, 30, 30),
        ["70_SIGN"] = new SKColor(30, 60, 230),
        ["80_SIGN"] = new SKColor(250, 230, 20),
    };

    /// <summary>Writes both sets into <paramref name="root"/> with <paramref name="perClass"/> kept photos per class.</summary>
    public static void Write(string root, int perClass, int width = 160, int height = 120, int seed = 0)
    {
        WriteSet(root, "Set1", perClass, width, height, seed);
        WriteSet(root, "Set2", perClass, width, height, seed + 1000);
    }

    /// <summary>Zips the images of <paramref name="root"/>/<paramref name="set"/> into <c>{set}Part0.zip</c> (images at the archive's root, as the official archives).</summary>
    public static byte[] ZipImages(string root, string set)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var file in Directory.GetFiles(Path.Combine(root, set), "*.jpg").Order(StringComparer.Ordinal))
            {
                zip.CreateEntryFromFile(file, Path.GetFileName(file), CompressionLevel.Fastest);
            }
        }
        return memory.ToArray();
    }

    private static void WriteSet(string root, string set, int perClass, int width, int height, int seed)
    {
        var directory = Path.Combine(root, set);
        Directory.CreateDirectory(directory);
        var random = new Random(seed);
        var lines = new StringBuilder();
        var index = 0;
        string Next() => string.Create(CultureInfo.InvariantCulture, $"{index++:D5}.jpg");

        foreach (var name in new[] { "EMPTY", "50_SIGN", "70_SIGN", "80_SIGN" })
        {
            for (var i = 0; i < perClass; i++)
            {
                var file = Next();
                if (name == "EMPTY")
                {
                    Photo(Path.Combine(directory, file), width, height, random, signs: []);
                    lines.Append(file).Append(":\n");
                }
                else
                {
                    var box = Photo(Path.Combine(directory, file), width, height, random, signs: [SignColors[name]])[0];
                    // A trailing ';' and an extra MISC_SIGNS entry, as in the published files.
                    lines.Append(file).Append(':').Append(Sign("VISIBLE", box, name)).Append(";MISC_SIGNS;\n");
                }
            }
        }
        // Dropped by the filter: only another sign; a speed limit that is only BLURRED.
        var other = Next();
        var otherBox = Photo(Path.Combine(directory, other), width, height, random, signs: [new SKColor(255, 255, 255)])[0];
        lines.Append(other).Append(':').Append(Sign("VISIBLE", otherBox, "PEDESTRIAN_CROSSING", "WARNING")).Append('\n');
        var blurred = Next();
        var blurredBox = Photo(Path.Combine(directory, blurred), width, height, random, signs: [SignColors["70_SIGN"]])[0];
        lines.Append(blurred).Append(':').Append(Sign("BLURRED", blurredBox, "70_SIGN")).Append('\n');
        lines.Append('\n');
        File.WriteAllText(Path.Combine(directory, "annotations.txt"), lines.ToString());
    }

    private static string Sign(string visibility, SKRect box, string name, string type = "PROHIBITORY") =>
        string.Create(CultureInfo.InvariantCulture, $"{visibility}, {box.Right:F2}, {box.Bottom:F2}, {box.Left:F2}, {box.Top:F2}, {type}, {name}");

    /// <summary>Draws a photo with a road-like background and the given signs; returns their boxes.</summary>
    private static List<SKRect> Photo(string path, int width, int height, Random random, SKColor[] signs)
    {
        var boxes = new List<SKRect>();
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(110, 150, 200)); // sky
            using var paint = new SKPaint { IsAntialias = true };
            paint.Color = new SKColor(80, 80, 85); // road
            canvas.DrawRect(0, height * 0.55f, width, height * 0.45f, paint);
            for (var i = 0; i < 6; i++)
            {
                var grey = (byte)random.Next(40, 200);
                paint.Color = new SKColor(grey, (byte)Math.Min(255, grey + random.Next(0, 50)), grey);
                var x = random.Next(width);
                var y = random.Next(height / 3, height);
                canvas.DrawRect(x, y - random.Next(5, height / 3), random.Next(5, width / 5), random.Next(5, height / 4), paint);
            }
            var radius = Math.Max(4, width / 14f);
            foreach (var color in signs)
            {
                var cx = radius + (float)random.NextDouble() * (width - 2 * radius);
                var cy = radius + (float)random.NextDouble() * (height - 2 * radius);
                paint.Color = color;
                canvas.DrawCircle(cx, cy, radius, paint);
                paint.Color = SKColors.White;
                canvas.DrawCircle(cx, cy, radius * 0.45f, paint);
                boxes.Add(new SKRect(cx - radius, cy - radius, cx + radius, cy + radius));
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 92);
        using var stream = File.Create(path);
        data.SaveTo(stream);
        return boxes;
    }
}
