namespace StreamIngest.Feeds.Replay;

public enum ReplayTimestamps
{
    /// <summary>Posts keep the times in the file.</summary>
    Original,

    /// <summary>All times move by one offset so the replay looks live: the newest post is "now" (or, when paced, each post is stamped when it is emitted).</summary>
    ShiftToNow,
}
