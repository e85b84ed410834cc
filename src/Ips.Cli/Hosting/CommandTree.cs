using System.Xml.Linq;
using Ips.Configuration;
using Spectre.Console;

namespace Ips.Cli.Hosting;

/// <summary>One command or branch of <c>ips</c>: its path (<c>["data", "mnist"]</c>), options and arguments.</summary>
/// <param name="Path">Names from the root, e.g. <c>["predict"]</c>.</param>
/// <param name="IsBranch">True for a group of commands such as <c>data</c>.</param>
/// <param name="Options">Every visible option name with its dashes (<c>--config</c>, <c>-c</c>).</param>
/// <param name="RequiredArguments">Names of the required positional arguments, in order.</param>
public sealed record CommandNode(IReadOnlyList<string> Path, bool IsBranch, IReadOnlyList<string> Options, IReadOnlyList<string> RequiredArguments);

/// <summary>
/// The command tree as Spectre.Console.Cli itself describes it (its built-in <c>cli xmldoc</c>), so that hints and tests
/// see every registered command without a second list to keep in step.
/// </summary>
public static class CommandTree
{
    /// <summary>Every command and branch of <c>ips</c>, depth first.</summary>
    public static IReadOnlyList<CommandNode> Read()
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(text), Ansi = AnsiSupport.No });
        console.Profile.Width = int.MaxValue / 2;
        CliApp.Create(console).Run(["cli", "xmldoc"]);
        var nodes = new List<CommandNode>();
        Walk(XDocument.Parse(text.ToString()).Root!, [], nodes);
        return nodes;
    }

    /// <summary>
    /// The message for an option that <paramref name="args"/> gives but its command lacks, with the nearest valid
    /// option, e.g. <c>ips predict: unknown option '--atention-dir'; did you mean '--attention-dir'?</c>.
    /// </summary>
    public static string UnknownOption(IReadOnlyList<string> args, string name)
    {
        var given = args.FirstOrDefault(a => a.TrimStart('-').Split('=')[0] == name && a.StartsWith('-'))?.Split('=')[0]
            ?? (name.Length == 1 ? "-" : "--") + name;
        var command = Find(Read(), args);
        var label = command is null ? "ips" : "ips " + string.Join(' ', command.Path);
        var options = command?.Options ?? ["--help", "--version"];
        var nearest = YamlValues.Suggest(given, options);
        var advice = nearest is not null ? $"; did you mean '{nearest}'?"
            : $"; its options are {string.Join(", ", options.Where(o => o.StartsWith("--", StringComparison.Ordinal)))}";
        return $"{label}: unknown option '{given}'{advice} (see {label} --help)";
    }

    /// <summary>
    /// The message for a word of <paramref name="args"/> that names no command: an extra argument to a command that
    /// takes none there (<c>ips doctor: unexpected argument 'extra'</c>), or a misspelt command of a branch, with the
    /// nearest one (<c>ips data: unknown command 'mnsit'; did you mean 'mnist'?</c>).
    /// </summary>
    public static string UnknownCommand(IReadOnlyList<string> args, string word)
    {
        var nodes = Read();
        var command = Find(nodes, args);
        var label = command is null ? "ips" : "ips " + string.Join(' ', command.Path);
        if (command is { IsBranch: false })
        {
            return $"{label}: unexpected argument '{word}' (see {label} --help)";
        }
        var depth = command?.Path.Count ?? 0;
        var children = nodes.Where(n => n.Path.Count == depth + 1 && (command is null || n.Path.Take(depth).SequenceEqual(command.Path)))
            .Select(n => n.Path[depth]).ToList();
        var nearest = YamlValues.Suggest(word, children);
        var advice = nearest is not null ? $"; did you mean '{nearest}'?" : $"; its commands are {string.Join(", ", children)}";
        return $"{label}: unknown command '{word}'{advice} (see {label} --help)";
    }

    /// <summary>Whether the command that <paramref name="args"/> runs has the option <paramref name="option"/>.</summary>
    public static bool Accepts(IReadOnlyList<string> args, string option) => Find(Read(), args)?.Options.Contains(option) == true;

    // The deepest command whose path the leading non-option words of args spell.
    private static CommandNode? Find(IReadOnlyList<CommandNode> nodes, IReadOnlyList<string> args)
    {
        var words = args.TakeWhile(a => !a.StartsWith('-')).ToList();
        return nodes.Where(n => n.Path.Count <= words.Count && n.Path.SequenceEqual(words.Take(n.Path.Count)))
            .MaxBy(n => n.Path.Count);
    }

    private static void Walk(XElement parent, IReadOnlyList<string> path, List<CommandNode> nodes)
    {
        foreach (var command in parent.Elements("Command"))
        {
            IReadOnlyList<string> here = [.. path, (string)command.Attribute("Name")!];
            var parameters = command.Element("Parameters")?.Elements().ToList() ?? [];
            var options = parameters.Where(p => p.Name == "Option" && (string?)p.Attribute("Hidden") != "true")
                .SelectMany(p => Names(p, "Long", "--").Concat(Names(p, "Short", "-")))
                .Append("--help").ToList();
            var required = parameters.Where(p => p.Name == "Argument" && (string?)p.Attribute("Required") == "true")
                .Select(p => (string)p.Attribute("Name")!).ToList();
            nodes.Add(new CommandNode(here, (string?)command.Attribute("IsBranch") == "true", options, required));
            Walk(command, here, nodes);
        }
    }

    private static IEnumerable<string> Names(XElement option, string attribute, string dashes) =>
        ((string?)option.Attribute(attribute) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(n => dashes + n);
}
