using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;

namespace Ips.Cli.Hosting;

/// <summary>
/// Spectre.Console.Cli's help, with every description taken as plain text: the default provider reads descriptions as
/// markup, so a description such as "one [N, n_chan_in] array" fails with "Could not find color or style". Escaping here,
/// once for the whole command tree, keeps the descriptions written as the user reads them.
/// </summary>
internal sealed class PlainTextHelpProvider(ICommandAppSettings settings) : HelpProvider(settings)
{
    /// <inheritdoc />
    public override IEnumerable<Spectre.Console.Rendering.IRenderable> Write(ICommandModel model, ICommandInfo? command) =>
        base.Write(new Model(model), command is null ? null : Info.Of(command));

    private static string? Escape(string? text) => text is null ? null : Markup.Escape(text);

    private sealed class Model(ICommandModel inner) : ICommandModel
    {
        public string ApplicationName => inner.ApplicationName;
        public string? ApplicationVersion => inner.ApplicationVersion;
        public IReadOnlyList<string[]> Examples => inner.Examples;
        public IReadOnlyList<ICommandInfo> Commands => [.. inner.Commands.Select(Info.Of)];
        public ICommandInfo? DefaultCommand => inner.DefaultCommand is { } c ? Info.Of(c) : null;
    }

    private sealed class Info(ICommandInfo inner) : ICommandInfo
    {
        public static ICommandInfo Of(ICommandInfo command) => command as Info ?? new Info(command);

        public string Name => inner.Name;
        public string? Description => Escape(inner.Description);
        public bool IsBranch => inner.IsBranch;
        public bool IsDefaultCommand => inner.IsDefaultCommand;
        public bool IsHidden => inner.IsHidden;
        public IReadOnlyList<ICommandParameter> Parameters => [.. inner.Parameters.Select(Parameter.Of)];
        public ICommandInfo? Parent => inner.Parent is { } p ? Of(p) : null;
        public IReadOnlyList<string[]> Examples => inner.Examples;
        public IReadOnlyList<ICommandInfo> Commands => [.. inner.Commands.Select(Of)];
        public ICommandInfo? DefaultCommand => inner.DefaultCommand is { } c ? Of(c) : null;
    }

    private static class Parameter
    {
        public static ICommandParameter Of(ICommandParameter parameter) => parameter switch
        {
            ICommandOption option => new Option(option),
            ICommandArgument argument => new Argument(argument),
            _ => parameter,
        };
    }

    private class Common(ICommandParameter inner) : ICommandParameter
    {
        public bool IsFlag => inner.IsFlag;
        public bool IsRequired => inner.IsRequired;
        public string? Description => Escape(inner.Description);
        public System.ComponentModel.DefaultValueAttribute? DefaultValue => inner.DefaultValue;
        public bool IsHidden => inner.IsHidden;
    }

    private sealed class Option(ICommandOption inner) : Common(inner), ICommandOption
    {
        public IReadOnlyList<string> LongNames => inner.LongNames;
        public IReadOnlyList<string> ShortNames => inner.ShortNames;
        public string? ValueName => inner.ValueName;
        public bool ValueIsOptional => inner.ValueIsOptional;
    }

    private sealed class Argument(ICommandArgument inner) : Common(inner), ICommandArgument
    {
        public string Value => inner.Value;
        public int Position => inner.Position;
    }
}
