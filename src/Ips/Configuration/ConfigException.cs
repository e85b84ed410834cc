namespace Ips.Configuration;

/// <summary>
/// A configuration file (or an override of one) is malformed or inconsistent. The message names the file, the key
/// and what is allowed, e.g. <c>config mnist.yml: M (1000) must be &lt;= N (900)</c>.
/// </summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public ConfigException(string message) : base(message) { }

    /// <summary>Creates the exception with a complete, user-facing message and the error that caused it.</summary>
    public ConfigException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a generic message; prefer the overloads that say what is wrong.</summary>
    public ConfigException() : base("invalid configuration") { }
}
