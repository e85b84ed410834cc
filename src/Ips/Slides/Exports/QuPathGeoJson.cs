using System.Text.Json;
using Ips.IO;
using Ips.Patches;

namespace Ips.Slides.Exports;

/// <summary>
/// One tile as a QuPath object: a square in level-0 pixels, what kind of object QuPath makes of it, its class and
/// numbers.
/// </summary>
/// <param name="Box">The tile in level-0 pixels.</param>
/// <param name="ObjectType"><see cref="QuPathGeoJson.Annotation"/> (few, editable objects) or <see cref="QuPathGeoJson.Detection"/> (many, light ones).</param>
/// <param name="ClassName">The QuPath class, e.g. <c>Tumor</c>.</param>
/// <param name="Colour">The class's colour, RGB.</param>
/// <param name="Measurements">Named numbers QuPath lists in the object's measurement table.</param>
public sealed record TileObject(PixelBox Box, string ObjectType, string ClassName, (byte R, byte G, byte B) Colour, IReadOnlyList<(string Name, double Value)> Measurements)
{
    /// <summary>A name QuPath shows for the object; null for none.</summary>
    public string? Name { get; init; }
}

/// <summary>
/// Tiles as GeoJSON that QuPath imports (File &gt; Import objects, or dropped on the viewer): a FeatureCollection of
/// Polygon features in level-0 pixel coordinates, whose <c>properties</c> carry QuPath's <c>objectType</c>,
/// <c>classification</c> (<c>name</c>, <c>color</c> as [r, g, b]) and <c>measurements</c> (name to number).
/// </summary>
public static class QuPathGeoJson
{
    /// <summary>QuPath's object type for annotations.</summary>
    public const string Annotation = "annotation";

    /// <summary>QuPath's object type for detections.</summary>
    public const string Detection = "detection";

    /// <summary>Where the export of <paramref name="input"/> goes in <paramref name="directory"/> (created if missing): <c>NAME.geojson</c>.</summary>
    public static string PathFor(string directory, string input)
    {
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, Path.GetFileNameWithoutExtension(input) + ".geojson");
    }

    /// <summary>Writes <paramref name="tiles"/> to <paramref name="path"/> atomically, streamed: a slide's many tiles are never held as text.</summary>
    public static void Write(string path, IEnumerable<TileObject> tiles)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        AtomicFile.Write(path, temporary =>
        {
            using var stream = File.Create(temporary);
            using var json = new Utf8JsonWriter(stream);
            json.WriteStartObject();
            json.WriteString("type", "FeatureCollection");
            json.WriteStartArray("features");
            foreach (var tile in tiles)
            {
                WriteFeature(json, tile);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    private static void WriteFeature(Utf8JsonWriter json, TileObject tile)
    {
        json.WriteStartObject();
        json.WriteString("type", "Feature");
        json.WriteStartObject("geometry");
        json.WriteString("type", "Polygon");
        json.WriteStartArray("coordinates");
        json.WriteStartArray();
        var (x, y, w, h) = (tile.Box.X, tile.Box.Y, tile.Box.Width, tile.Box.Height);
        // A closed ring, clockwise in image coordinates (y down), as QuPath writes its rectangles.
        foreach (var (px, py) in new[] { (x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y) })
        {
            json.WriteStartArray();
            json.WriteNumberValue(px);
            json.WriteNumberValue(py);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartObject("properties");
        json.WriteString("objectType", tile.ObjectType);
        if (tile.Name is { } name)
        {
            json.WriteString("name", name);
        }
        json.WriteStartObject("classification");
        json.WriteString("name", tile.ClassName);
        json.WriteStartArray("color");
        json.WriteNumberValue(tile.Colour.R);
        json.WriteNumberValue(tile.Colour.G);
        json.WriteNumberValue(tile.Colour.B);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartObject("measurements");
        foreach (var (key, value) in tile.Measurements)
        {
            json.WriteNumber(key, value);
        }
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
