using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace StreamIngest.Hosting;

/// <summary>
/// Runs the data-annotation rules of an options class and reports each failure with its full
/// configuration key (<c>Feeds:Replay:Speed must be between 0 and 1000000</c>), so a user knows what to fix.
/// </summary>
public sealed class SectionValidator<T>(string section, Func<T, IEnumerable<string>>? extra = null) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        var errors = results
            .Select(r => $"{(section.Length == 0 ? string.Empty : section + ":")}{string.Join(',', r.MemberNames)}: {r.ErrorMessage}")
            .Concat(extra?.Invoke(options) ?? [])
            .ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
