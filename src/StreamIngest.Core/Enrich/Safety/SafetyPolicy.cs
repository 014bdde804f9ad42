namespace StreamIngest.Enrich.Safety;

/// <summary>What a safety label does to a post.</summary>
public enum SafetyAction
{
    /// <summary>Not labelled at all.</summary>
    Allow,

    /// <summary>Labelled; served everywhere with the label shown.</summary>
    Flag,

    /// <summary>Labelled, stored and searchable, but never put into a grounded prompt.</summary>
    Exclude,

    /// <summary>Not stored: dead-lettered at ingest with the label and score as the reason.</summary>
    Drop,
}
