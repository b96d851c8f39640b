pub struct ManifestInfo;
