<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0" labelsEnabled="0">
 <renderer-v2 type="categorizedSymbol" attr="depth_class" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
  <categories>
   <category value="0-0.2" label="0–0.2 m" symbol="0" render="true" />
   <category value="0.2-0.5" label="0.2–0.5 m" symbol="1" render="true" />
   <category value="0.5-1" label="0.5–1 m" symbol="2" render="true" />
   <category value="&gt;1" label="&gt; 1 m" symbol="3" render="true" />
  </categories>
  <symbols>
   <symbol type="fill" name="0" alpha="0.8" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="198,219,239,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="0,0,0,0" type="QString" />
      <Option name="outline_style" value="no" type="QString" />
      <Option name="outline_width" value="0.265" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="1" alpha="0.8" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="107,174,214,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="0,0,0,0" type="QString" />
      <Option name="outline_style" value="no" type="QString" />
      <Option name="outline_width" value="0.265" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="2" alpha="0.8" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="33,113,181,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="0,0,0,0" type="QString" />
      <Option name="outline_style" value="no" type="QString" />
      <Option name="outline_width" value="0.265" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="3" alpha="0.8" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="8,48,107,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="0,0,0,0" type="QString" />
      <Option name="outline_style" value="no" type="QString" />
      <Option name="outline_width" value="0.265" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
  </symbols>
  <source-symbol>
   <symbol type="fill" name="0" alpha="0.8" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="79,155,217,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="0,0,0,0" type="QString" />
      <Option name="outline_style" value="no" type="QString" />
      <Option name="outline_width" value="0.265" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
  </source-symbol>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>2</layerGeometryType>
</qgis>
